"""`chanwatch users …` and the `--as` checks, through the real CLI on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from crawler import access
from crawler.access import Permission, Role, can
from storage import user_store
from tests.factories import post
from tests.integration.alert_helpers import Pipeline, alerts, load_rules
from tests.integration.cli_runner import PASSWORD, Cli, Result, add_user, with_stdin

RULES = "rules:\n  - name: solicitation\n    severity: low\n    terms: [갠텔]\n"


def _error(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1, result
    return lines[0]


def test_roles_grant_what_the_issue_says() -> None:
    assert all(can(Role.ADMIN, p) for p in Permission)
    assert can("staff", Permission.REVIEW_ALERTS) and can("staff", Permission.MANAGE_WATCHLISTS)
    assert not can("staff", Permission.MANAGE_USERS) and not can("staff", Permission.MANAGE_BANKS)
    assert can("investigator", Permission.READ) and can("investigator", Permission.EXPORT)
    assert not can("investigator", Permission.REVIEW_ALERTS)
    assert not can("superuser", Permission.READ)


def test_add_reads_one_line_of_stdin_and_stores_only_an_argon2_hash(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = with_stdin(monkeypatch, PASSWORD + "\nthe next line is not read\n")
    assert cli("users", "add", "alice", "--role", "staff").code == 0
    assert stdin.read() == "the next line is not read\n"
    with engine.connect() as conn:
        stored = user_store.password_hash(conn, "alice")
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert access.password_matches(stored, PASSWORD)
    assert not access.password_matches(stored, PASSWORD + "!")
    assert not access.needs_rehash(stored)

    listed = cli("users", "list", "--format", "json")
    (user,) = json.loads(listed.out)
    assert (user["name"], user["role"], user["enabled"]) == ("alice", "staff", True)
    assert "argon2" not in listed.out and "password" not in listed.out
    assert "argon2" not in cli("users", "list").out


@pytest.mark.parametrize(
    ("password", "message"), [("", "empty"), ("short pw 11", "shorter than 12")]
)
def test_an_empty_or_short_password_is_one_line_and_exit_2(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, password: str, message: str
) -> None:
    assert message in _error(add_user(cli, monkeypatch, "bob", "staff", password))
    assert json.loads(cli("users", "list", "--format", "json").out) == []


def test_users_change_role_password_and_state_and_unknown_names_fail(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert add_user(cli, monkeypatch, "alice", "investigator").code == 0
    assert "exists" in _error(add_user(cli, monkeypatch, "alice", "staff"))
    assert cli("users", "role", "alice", "admin").code == 0
    assert cli("users", "disable", "alice").code == 0
    (user,) = json.loads(cli("users", "list", "--format", "json").out)
    assert (user["role"], user["enabled"]) == ("admin", False)
    assert cli("users", "enable", "alice").code == 0

    with_stdin(monkeypatch, "another long password\n")
    assert cli("users", "passwd", "alice").code == 0
    with engine.connect() as conn:
        stored = user_store.password_hash(conn, "alice")
    assert stored is not None and access.password_matches(stored, "another long password")
    for command in (["disable", "nobody"], ["enable", "nobody"], ["role", "nobody", "staff"]):
        assert "no user 'nobody'" in _error(cli("users", *command))
    assert cli("users", "role", "alice", "owner").code == 2


def test_as_names_an_enabled_user_whose_role_may_review(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_rules(engine, RULES)
    Pipeline(engine).ingest([post(1, "갠텔")])
    alert_id = str(alerts(engine)[0]["id"])
    assert add_user(cli, monkeypatch, "alice", "staff").code == 0
    assert add_user(cli, monkeypatch, "ivan", "investigator").code == 0
    assert add_user(cli, monkeypatch, "root", "admin").code == 0

    assert "users add ghost" in _error(cli("alerts", "claim", alert_id, "--as", "ghost"))
    assert "may not review_alerts" in _error(cli("alerts", "claim", alert_id, "--as", "ivan"))
    refused = cli("alerts", "decide", alert_id, "confirm", "--as", "ivan")
    assert "(investigator) may not" in _error(refused)
    assert alerts(engine)[0]["status"] == "new"

    assert cli("users", "disable", "alice").code == 0
    assert "is disabled" in _error(cli("alerts", "claim", alert_id, "--as", "alice"))
    assert cli("users", "enable", "alice").code == 0
    assert cli("alerts", "claim", alert_id, "--as", "alice").code == 0
    assert cli("alerts", "decide", alert_id, "escalate", "--as", "alice").code == 0
    assert cli("alerts", "decide", alert_id, "confirm", "--as", "root").code == 0
    assert alerts(engine)[0]["status"] == "confirmed"
