"""`chanwatch demo`: the real collectors crawl the sandbox world offline and raise every alert
kind, in the demo's own database, whatever the user's settings say."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import Engine

from crawler.cli.main import run
from sandbox.demo import DEMO_CONFIG, DEMO_DATABASE, REQUIRED_KINDS, run_demo
from tests.integration.cli_runner import Cli, Result
from tests.integration.spider_world import CHILD_GUARD


@pytest.fixture
def guarded_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spider children get the loopback-only socket guard too."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(CHILD_GUARD), os.environ.get("PYTHONPATH", "")])
    )


@pytest.fixture
def trap_listener() -> Iterator[socket.socket]:
    """A loopback port that the user's settings point at and the demo must never call."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    yield listener
    listener.close()


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> Result:
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def alerts(capsys: pytest.CaptureFixture, config: str) -> list[dict]:
    result = run_cli(capsys, "--config", config, "alerts", "list", "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.usefixtures("guarded_children")
def test_demo_raises_every_alert_kind_offline_and_ignores_the_users_settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    trap_listener: socket.socket,
) -> None:
    trap = f"http://127.0.0.1:{trap_listener.getsockname()[1]}"
    user_settings = tmp_path / "mine.toml"
    user_settings.write_text(
        'database_url = "sqlite:///mine.db"\n'
        f'[notify]\nmin_severity = "low"\nwebhook_url = "{trap}/hook"\nwebhook_secret = "s"\n'
        f'apprise_urls = ["json://127.0.0.1:{trap_listener.getsockname()[1]}/"]\n'
        f'[telegram]\npreview_base_url = "{trap}"\n'
        'accounts = [{ name = "mine", session = "env:CHANWATCH_SECRET_MINE" }]\n'
        '[net]\nallow_private_hosts = ["10.0.0.0/8"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CHANWATCH_CONFIG", str(user_settings))
    monkeypatch.setenv("CHANWATCH_SPIDERS__DOWNLOAD_DELAY_S", "30")
    monkeypatch.chdir(tmp_path)

    result = run_cli(capsys, "demo", "--once")

    assert result.code == 0, result.out + result.err
    assert "missing" not in result.out
    assert f"chanwatch --config {DEMO_CONFIG} alerts list" in result.out
    assert (tmp_path / DEMO_DATABASE).is_file() and not (tmp_path / "mine.db").exists()
    raised = alerts(capsys, DEMO_CONFIG)
    assert {a["kind"] for a in raised} >= set(REQUIRED_KINDS)
    changes = {a["evidence"]["change"] for a in raised if a["kind"] == "source_change"}
    assert {"username", "username_reused"} <= changes
    orientations = {a["evidence"]["orientation"] for a in raised if a["kind"] == "hash_match"}
    assert orientations - {None, "original"}, "the mirrored re-post matched its banked original"
    discovered = {a["evidence"]["channel"] for a in raised if a["kind"] == "discovery"}
    assert "@region_talk_new" in discovered
    with pytest.raises(BlockingIOError):
        trap_listener.accept()  # no notification, preview fetch or anything else reached it

    found = run_cli(capsys, "--config", DEMO_CONFIG, "items", "--text", "고쳐졌습니다",
                    "--format", "json")  # fmt: skip
    (edited,) = json.loads(found.out)
    assert edited["versions"] == 2


@pytest.mark.postgres
@pytest.mark.usefixtures("guarded_children")
def test_demo_on_postgres_starts_afresh_on_every_run(
    postgres_url: str,
    postgres_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    runs = []
    for _ in range(2):
        result = run_cli(capsys, "demo", "--once", "--database", postgres_url)
        assert result.code == 0, result.out + result.err
        raised = alerts(capsys, DEMO_CONFIG)
        runs.append((min(a["id"] for a in raised), sorted(a["kind"] for a in raised)))
    assert runs[0] == runs[1] and runs[0][0] == 1


def test_demo_refuses_a_database_holding_other_data(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    assert cli("watchlist", "add", "@some_channel", "--list", "rooms").code == 0

    refused = cli("demo", "--once", "--database", db_url)

    assert refused.code == 2
    assert refused.err.count("\n") == 1 and "not the demo's" in refused.err
    assert "@some_channel" in cli("watchlist", "list").out
    assert not (tmp_path / DEMO_CONFIG).exists()


def test_demo_refuses_a_file_that_is_not_a_database(cli: Cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")

    refused = cli("demo", "--once", "--database", f"sqlite:///{notes}")

    assert refused.code == 2 and refused.err.count("\n") == 1
    assert notes.read_text(encoding="utf-8") == "my notes\n"


@pytest.mark.usefixtures("guarded_children")
def test_the_running_demo_serves_the_review_app_with_the_login_it_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []
    served, stop = threading.Event(), threading.Event()

    def say(line: str) -> None:
        lines.append(line)
        if line.startswith("review app:"):
            served.set()

    demo = threading.Thread(
        target=run_demo, args=(None,),
        kwargs={"once": False, "every_s": 3600, "say": say, "stop": stop, "web_port": 0},
    )  # fmt: skip
    demo.start()
    try:
        assert served.wait(timeout=120), lines
        (announced,) = [line for line in lines if line.startswith("review app:")]
        found = re.fullmatch(r"review app: (\S+) \(log in as demo / (\S+)\)", announced)
        assert found is not None, announced
        url, login = found.groups()
        queue = asyncio.run(_log_in_and_read_queue(url, login))
    finally:
        stop.set()
        demo.join(timeout=60)
    assert not demo.is_alive()
    assert all(word in queue for word in ("hash_match", "keyword", "discovery", "@jiin_lounge"))


async def _log_in_and_read_queue(url: str, password: str) -> str:
    # unsafe=True: the jar otherwise drops cookies set by an IP address such as 127.0.0.1.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(f"{url}login") as form:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await form.text())
        assert token is not None
        fields = {"username": "demo", "password": password, "csrf_token": token.group(1)}
        async with client.post(f"{url}login", data=fields) as answer:
            assert answer.status == 200 and answer.url.path == "/alerts", answer.url
            return await answer.text()
