"""`chanwatch telegram login` and `chanwatch telegram accounts` against the fake DC."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from telethon.sessions import StringSession

from crawler.cli.main import run
from sandbox.telegram_dc import FakeDC, World, guards
from storage.models import TelegramAccount
from tests.integration.telegram_support import API_HASH

pytestmark = pytest.mark.usefixtures("no_real_telegram")


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("CHANWATCH_TELEGRAM__API_ID", "12345")
    monkeypatch.setenv("CHANWATCH_TELEGRAM__API_HASH", API_HASH)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("cli_env")
def test_login_signs_in_and_prints_a_working_session_once(
    telegram_world: World,
    threaded_dc: FakeDC,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    me = telegram_world.me
    monkeypatch.setattr("sys.stdin", io.StringIO(f"+{me.phone}\n{me.code}\n"))
    # A new session has no address: Telethon's built-in DC, which the guard points here.
    with guards.no_real_telegram(default_port=threaded_dc.port):
        code = run(["telegram", "login"])
    out, err = capsys.readouterr()
    assert code == 0, err
    session = out.strip()
    assert session not in err and "shown once" in err
    info = threaded_dc.key_info(StringSession(session).auth_key.key_id)
    assert info is not None and info.user_id == me.id
    assert [c.method for c in threaded_dc.calls() if c.method.startswith("auth.")] == [
        "auth.sendCode",
        "auth.signIn",
    ]


@pytest.mark.usefixtures("cli_env")
def test_login_with_a_wrong_code_is_one_error_line(
    telegram_world: World,
    threaded_dc: FakeDC,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"+{telegram_world.me.phone}\n99999\n"))
    with guards.no_real_telegram(default_port=threaded_dc.port):
        code = run(["telegram", "login"])
    _out, err = capsys.readouterr()
    assert code != 0 and "login code was not accepted" in err


@pytest.mark.usefixtures("cli_env")
def test_accounts_shows_ok_unauthorized_and_flood_waiting(
    engine: Engine,
    threaded_dc: FakeDC,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    accounts = [
        {"name": "good", "session": threaded_dc.string_session()},
        {"name": "signed_out", "session": threaded_dc.string_session(authorized=False)},
    ]
    monkeypatch.setenv("CHANWATCH_TELEGRAM__ACCOUNTS", json.dumps(accounts))
    assert table_rows(capsys, ["telegram", "accounts"]) == {
        "good": "ok",
        "signed_out": "unauthorized",
    }
    until = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            update(TelegramAccount).where(TelegramAccount.name == "good").values(flood_until=until)
        )
    states = table_rows(capsys, ["telegram", "accounts"])
    assert states["good"] == "flood-waiting until 2030-01-01T00:00:00+00:00"
    assert states["signed_out"] == "unauthorized"
    # Neither was connected again: one waits out its flood, the other needs a new login.
    assert len({c.connection_id for c in threaded_dc.calls()}) == 2


def table_rows(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, str]:
    """account -> state from the printed table."""
    assert run(argv) == 0
    out = capsys.readouterr().out
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if "│" in line]
    return {row[0]: row[1] for row in cells if row and row[0] != "account"}
