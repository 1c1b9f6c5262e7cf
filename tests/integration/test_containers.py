"""No Docker engine runs here, so check what can be checked: the files parse, every command
they name exists in the CLI, every path the image copies is in the repository, and the
environment compose renders for a fresh checkout is one chanwatch runs with."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlalchemy import Engine

from crawler.cli.main import app, run
from crawler.settings_loading import load_settings
from tests.integration.cli_runner import Cli

ROOT = Path(__file__).resolve().parents[2]
# ${VAR}, ${VAR:-default}, ${VAR:?message}: the subset of compose interpolation the file uses.
_INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^$}]*))?\}"
)


class MissingVariable(Exception):
    """A `${VAR:?message}` whose variable is unset or empty: compose refuses to start."""


def _interpolate(text: str, env: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        value = env.get(match["name"], "")
        if match["op"] == ":-":
            return value or match["arg"]
        if match["op"] == ":?" and not value:
            raise MissingVariable(f"{match['name']}: {match['arg']}")
        return value

    # Anything else with a `$` ($VAR, $$, ${VAR-x}, nesting) would be rendered wrong here: the
    # test must learn the new syntax before the file may use it.
    assert "$" not in _INTERPOLATION.sub("", text), f"unsupported interpolation in {text!r}"
    return _INTERPOLATION.sub(one, text)


def _render(node: Any, env: Mapping[str, str]) -> Any:
    """The compose file as `docker compose` sees it with `env` as the host's environment."""
    if isinstance(node, str):
        return _interpolate(node, env)
    if isinstance(node, dict):
        return {key: _render(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_render(value, env) for value in node]
    return node


def _compose(env: Mapping[str, str]) -> dict[str, Any]:
    # safe_load resolves the file's anchors (&app-env / *app-env) as compose does.
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return _render(raw, env)


def _cli_has(command: list[str]) -> bool:
    node = typer.main.get_command(app)
    for word in command:
        commands = getattr(node, "commands", None)
        if not commands:
            return True  # a command reached: what follows are its options and arguments
        if word.startswith("-"):
            continue
        if word not in commands:
            return False
        node = commands[word]
    return not getattr(node, "commands", None)


def test_compose_services_are_wired_in_order_with_a_healthy_utf8_postgres() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    postgres = services["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "lc-ctype=C.UTF-8" in postgres["environment"]["POSTGRES_INITDB_ARGS"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    worker = services["worker"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    url = worker["environment"]["CHANWATCH_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url
    assert "ports" not in worker  # scaled workers cannot share a host port; nothing published


def _published(port: str) -> tuple[str, str, str]:
    host_ip, host_port, container_port = port.split(":")
    return host_ip, host_port, container_port


def test_the_web_service_is_opt_in_published_on_loopback_only_and_keeps_secrets_out() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    web = services["web"]
    # `docker compose up` alone needs only the database password; the app comes with its key.
    assert web["profiles"] == ["web"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert web["command"][:1] == ["web"]
    port = web["command"][web["command"].index("--port") + 1]
    # Every published port of every service, on the host's loopback only (short syntax with
    # an address: a bare "8080:8080" would listen on every interface of the host).
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert [_published(p)[0] for p in published] == ["127.0.0.1"]
    assert _published(web["ports"][0]) == ("127.0.0.1", "8080", port)
    assert web["healthcheck"]["test"] == [
        "CMD", "chanwatch", "probe", f"http://127.0.0.1:{port}/healthz"
    ]  # fmt: skip
    environment = web["environment"]
    # The key is a reference to a variable the host fills in, never a value in this file; the
    # app reads the database, never the Telegram secrets.
    assert environment["CHANWATCH_WEB__SESSION_KEY"] == "env:CHANWATCH_SECRET_WEB_KEY"
    assert environment["CHANWATCH_SECRET_WEB_KEY"] == "${CHANWATCH_SECRET_WEB_KEY:-}"
    assert not [name for name in environment if "TELEGRAM" in name or "SESSION_1" in name]


def test_every_command_compose_names_exists_in_the_cli() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    commands = [s["command"] for s in compose["services"].values() if "command" in s]
    commands += [
        s["healthcheck"]["test"][2:] for s in compose["services"].values()
        if "healthcheck" in s and s["healthcheck"]["test"][:2] == ["CMD", "chanwatch"]
    ]  # fmt: skip
    assert len(commands) >= 3
    for command in commands:
        assert _cli_has(command), command


def test_dockerfile_copies_existing_paths_and_runs_chanwatch() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    sources = [
        src
        for line in dockerfile.splitlines()
        if line.startswith("COPY") and "--from=" not in line
        for src in line.split()[1:-1]
    ]
    assert sources
    assert all((ROOT / src).exists() for src in sources), sources
    assert re.search(r'ENTRYPOINT \["chanwatch"\]', dockerfile)
    assert "build-essential" in dockerfile  # pdqhash compiles C++ at install time


def test_compose_refuses_to_start_without_the_database_password() -> None:
    with pytest.raises(MissingVariable, match="CHANWATCH_DB_PASSWORD"):
        _compose({})
    with pytest.raises(MissingVariable, match="CHANWATCH_DB_PASSWORD"):
        _compose({"CHANWATCH_DB_PASSWORD": ""})


def _container_env(
    service: dict[str, Any], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> dict[str, str]:
    """Make this process's settings namespace exactly the container's environment, then check
    it loads, and point it at the test database (no "postgres" host here)."""
    environment = service["environment"]
    assert all(isinstance(value, str) for value in environment.values())
    for var in [v for v in os.environ if v.upper().startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    for var, value in environment.items():
        monkeypatch.setenv(var, value)
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://chanwatch:s3cret@postgres:5432/chanwatch"
    assert settings.telegram.api_id is None
    assert settings.telegram.api_hash is None
    assert settings.telegram.accounts == ()
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", db_url)
    return {**os.environ}


def test_a_fresh_compose_up_migrates_with_only_the_database_password_set(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: unset Telegram variables rendered as "" and `migrate` failed validation.
    migrate = _compose({"CHANWATCH_DB_PASSWORD": "s3cret"})["services"]["migrate"]
    _container_env(migrate, monkeypatch, db_url)

    result = cli(*migrate["command"])

    assert (result.code, result.err) == (0, "")


@pytest.mark.postgres
def test_the_compose_worker_becomes_healthy_on_an_empty_watchlist_and_stops_on_sigterm(
    postgres_url: str, postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services = _compose({"CHANWATCH_DB_PASSWORD": "s3cret"})["services"]
    env = _container_env(services["worker"], monkeypatch, postgres_url)
    assert run(services["migrate"]["command"]) == 0
    # The container's port, made an ephemeral loopback one for this machine.
    port = _free_port()
    worker = services["worker"]
    command = [c.replace("0.0.0.0:9464", f"127.0.0.1:{port}") for c in worker["command"]]
    health = [c.replace(":9464/", f":{port}/") for c in worker["healthcheck"]["test"][1:]]
    assert health[0] == "chanwatch"
    with _healthy(command, health, env, tmp_path) as process:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert "Traceback" not in (process.stderr.read() or "")


def test_the_compose_web_service_refuses_to_start_without_its_session_key(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = _compose({"CHANWATCH_DB_PASSWORD": "s3cret"})["services"]["web"]
    _container_env(web, monkeypatch, db_url)

    result = cli(*web["command"])

    assert result.code == 2
    assert result.err.startswith("chanwatch: error: web.session_key") and "Traceback" not in (
        result.err
    )


def test_the_compose_web_service_serves_answers_its_health_check_and_stops_on_sigterm(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = "ab" * 32
    services = _compose({"CHANWATCH_DB_PASSWORD": "s3cret", "CHANWATCH_SECRET_WEB_KEY": key})
    web = services["services"]["web"]
    env = _container_env(web, monkeypatch, db_url)
    assert load_settings().web.insecure_cookies is True
    # The container's address and port, made an ephemeral loopback one for this machine.
    port = _free_port()
    command = [{"0.0.0.0": "127.0.0.1", "8080": str(port)}.get(c, c) for c in web["command"]]
    health = [c.replace(":8080/", f":{port}/") for c in web["healthcheck"]["test"][1:]]
    assert health[0] == "chanwatch"
    with _healthy(command, health, env, tmp_path) as process:
        # The login page sets its cookie for plain HTTP, as a browser on 127.0.0.1 needs.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/login")
        response = connection.getresponse()
        cookie = response.getheader("Set-Cookie") or ""
        connection.close()
        assert response.status == 200 and "chanwatch_session=" in cookie
        assert "secure" not in cookie.lower()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    stderr = process.stderr.read() or ""
    assert "Traceback" not in stderr and key not in stderr


CLI = "import sys; from crawler.cli.main import run; sys.exit(run(sys.argv[1:]))"


@contextmanager
def _healthy(
    command: list[str], health: list[str], env: Mapping[str, str], cwd: Path
) -> Iterator[subprocess.Popen[str]]:
    """The service's command as a child, once its own health check passes; killed on the way
    out if the test has not stopped it."""
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, *command], env={**env, "PYTHONPATH": str(ROOT)}, cwd=cwd,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(300):  # bounded: a service answers within seconds
            if run(health[1:]) == 0:
                break
            assert process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
            time.sleep(0.1)
        assert run(health[1:]) == 0
        yield process
    finally:
        if process.poll() is None:
            process.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
