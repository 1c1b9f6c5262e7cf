"""The review app under test as the real `chanwatch web` process, and the database it serves.

Playwright's sync API refuses to run inside an event loop, so the app never runs in the test
process: `WebServer` starts `chanwatch web --port 0` as a child over a settings file of its own
(the database, a session key file, plain-HTTP cookies for loopback), reads the port it prints
and polls `/healthz` until it answers. Children (and theirs: the demo's spiders) load
tests/integration/child_guard through PYTHONPATH, which refuses every non-loopback address.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crawler.cli.main import run
from crawler.observations import (
    ChannelSnapshot,
    MediaHashes,
    Observation,
    Platform,
    Post,
    SourceKey,
)
from tests.factories import T0, post
from tests.integration.alert_helpers import Pipeline, alerts
from tests.integration.cli_runner import PASSWORD, Cli, Result, add_user

ROOT = Path(__file__).resolve().parents[2]
USERS = {"investigator": "minho", "staff": "jiwoo", "admin": "seoyeon"}
"""role → the user name `served_app` and `demo_app` create with `chanwatch users add`."""
START_TIMEOUT_S = 60.0
"""Bounded, not slept: a child on a busy two-core machine still starts within seconds."""
_PORT_LINE = re.compile(r"review app on http://127\.0\.0\.1:(\d+)/")
CHILD_GUARD = ROOT / "tests" / "integration" / "child_guard"
_CHILD = "import sys; from crawler.cli.main import run; sys.exit(run(sys.argv[1:]))"


def child_env() -> dict[str, str]:
    """This environment without any CHANWATCH_* setting (the child reads its settings file
    only), with the repository importable and the loopback-only socket guard loaded."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHANWATCH_")}
    path = [str(CHILD_GUARD), str(ROOT), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, path))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def chanwatch_child(args: Sequence[str], cwd: Path, **popen: object) -> subprocess.Popen[str]:
    """`chanwatch ARGS` as a child process (the console script's `run`)."""
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args], cwd=cwd, env=child_env(), text=True, **popen
    )  # type: ignore[call-overload]


def write_settings(folder: Path, db_url: str) -> Path:
    """A settings file for `db_url` with a fresh session key (in a file of its own, as the
    README says) and cookies allowed over plain HTTP, which a loopback test server speaks."""
    key = folder / "web-session.key"
    key.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    key.chmod(0o600)
    config = folder / "chanwatch.toml"
    config.write_text(
        f"database_url = {json.dumps(db_url)}\n\n[web]\n"
        f"session_key = {json.dumps(f'file:{key}')}\ninsecure_cookies = true\n",
        encoding="utf-8",
    )
    return config


def config_cli(config: Path) -> Cli:
    """`cli("users", "list")` → Result: the real CLI in this process with `--config`, and no
    CHANWATCH_* variable of this environment in the way. Usable from session fixtures, which
    tests/integration's function-scoped `cli` fixture is not."""

    def invoke(*args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as env:
            for var in [v for v in os.environ if v.upper().startswith("CHANWATCH_")]:
                env.delenv(var)
            with redirect_stdout(out), redirect_stderr(err):
                code = run(["--config", str(config), *args])
        return Result(code, out.getvalue(), err.getvalue())

    return invoke


def add_users(cli: Cli, users: dict[str, str] = USERS, password: str = PASSWORD) -> None:
    """`chanwatch users add NAME --role ROLE` for each role → name, password on stdin."""
    with pytest.MonkeyPatch.context() as patch:
        for role, name in users.items():
            result = add_user(cli, patch, name, role, password)
            assert result.code == 0, result.err


class WebServer:
    """`chanwatch --config CONFIG web --port 0` until `stop()`."""

    def __init__(self, config: Path, cwd: Path) -> None:
        self._lines: list[str] = []
        self._port_seen = threading.Event()
        self.port = 0
        self.process = chanwatch_child(
            ["--config", str(config), "web", "--host", "127.0.0.1", "--port", "0"],
            cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        # Drained for as long as the child lives: a full pipe would stall it mid-request.
        self._reader = threading.Thread(target=self._read, name="web-stderr", daemon=True)
        self._reader.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop(check=False)
            raise

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return "".join(self._lines)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.append(line)
            found = _PORT_LINE.search(line)
            if found and not self._port_seen.is_set():
                self.port = int(found.group(1))
                self._port_seen.set()
        self._port_seen.set()  # the child ended: let the waiter see why

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        if not self._port_seen.wait(START_TIMEOUT_S) or not self.port:
            raise RuntimeError(f"chanwatch web printed no address:\n{self.stderr()}")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chanwatch web exited {self.process.returncode}:\n"
                                   f"{self.stderr()}")  # fmt: skip
            if healthz(self.port):
                return
            time.sleep(0.02)
        raise RuntimeError(f"/healthz did not answer within {START_TIMEOUT_S} s")

    def stop(self, *, check: bool = True) -> None:
        """SIGTERM, as a service manager stops it; with `check`, it must exit 0 without a
        traceback having been printed at any point of its life."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        if check:
            assert self.process.returncode == 0, self.stderr()
            assert "Traceback" not in self.stderr(), self.stderr()


def healthz(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@dataclass
class ServedApp:
    """A running review app and its database: what a browser test needs to seed and look."""

    base_url: str
    db_url: str
    engine: Engine
    cli: Cli
    """The real CLI on the served database (`app.cli("alerts", "decide", "3", ...)`)."""
    server: WebServer
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))
    """role → user name; every one has `password`."""
    password: str = PASSWORD

    def url(self, path: str = "/") -> str:
        return self.base_url + path


def room(channel_id: int, username: str, title: str) -> ChannelSnapshot:
    """A Telegram channel as a collector reports it."""
    key = SourceKey(Platform.TELEGRAM, platform_id=str(channel_id), username=username)
    return ChannelSnapshot(key, T0, username=username, title=title)


def room_post(
    channel: ChannelSnapshot, message_id: int, text: str, *, media: Sequence[MediaHashes] = (),
    **fields: object,
) -> Post:  # fmt: skip
    """A post in `channel` (tests/factories.py's `post`, moved to that channel)."""
    fields.setdefault("url", f"https://t.me/{channel.username}/{message_id}")
    return post(message_id, text, source=channel.source, media=tuple(media), **fields)


def seed_alerts(engine: Engine, observations: Sequence[Observation]) -> list[int]:
    """Ingest `observations` (e.g. `room(...)` and its `room_post(...)`s) as one batch through
    the one ingest path with the real matchers, built from the rules and banks as they stand
    now; the ids of the alerts it raised, in id order."""
    before = {a["id"] for a in alerts(engine)}
    Pipeline(engine).ingest(observations)
    return sorted(a["id"] for a in alerts(engine) if a["id"] not in before)
