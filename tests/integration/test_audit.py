"""The audit chain on SQLite and PostgreSQL: what is recorded, what the database refuses, four
writers at once, and verification catching an edited row and a rewritten chain."""

from __future__ import annotations

import getpass
import io
import json
import stat
import threading
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from crawler import audit
from crawler.audit import checkpoints
from storage import audit_store
from tests.factories import post
from tests.integration.alert_helpers import Pipeline, alerts, load_rules
from tests.integration.cli_runner import Cli
from tests.integration.test_users import RULES, add_user

WATCHLIST = "watchlists:\n  - name: rooms\n    targets:\n      - locator: '@other_room'\n"
PDQ = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"


def _chain(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return list(audit_store.rows(conn))


def _tamper(engine: Engine, *statements: str) -> None:
    """Run statements with the append-only triggers out of the way, as an attacker with the
    database's owner rights could."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_log_chain"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            conn.execute(text(statement))


def _record(engine: Engine, count: int, actor: str = "alice") -> None:
    for number in range(count):
        with engine.begin() as conn:
            audit.record(conn, audit.Action.ALERT_CLAIM, f"alert {number}", {"n": number},
                         actor=actor)  # fmt: skip


def test_every_audited_cli_action_is_a_row_with_actor_via_and_os_user(
    cli: Cli, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_rules(engine, RULES)
    Pipeline(engine).ingest([post(1, "갠텔")])
    alert_id = str(alerts(engine)[0]["id"])
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "bank.csv").write_text(f"signal_type,value\npdq,{PDQ}\n", encoding="utf-8")
    (tmp_path / "lists.yaml").write_text(WATCHLIST, encoding="utf-8")
    steps = [
        ["watchlist", "add", "@some_room"], ["watchlist", "disable", "@some_room"],
        ["watchlist", "enable", "@some_room"], ["watchlist", "remove", "@some_room"],
        ["watchlist", "import", "lists.yaml"], ["rules", "import", "rules.yaml"],
        ["banks", "import", "bank.csv", "--bank", "known"], ["banks", "disable", "known"],
        ["banks", "enable", "known"], ["users", "role", "alice", "admin"],
        ["users", "disable", "alice"], ["users", "enable", "alice"],
        ["alerts", "claim", alert_id, "--as", "alice"],
        ["alerts", "decide", alert_id, "confirm", "--as", "alice"],
    ]  # fmt: skip
    assert add_user(cli, monkeypatch, "alice", "staff").code == 0
    for step in steps:
        result = cli(*step)
        assert result.code == 0, (step, result)
    assert add_user(cli, monkeypatch, "bob", "staff").code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("yet another password\n"))
    assert cli("users", "passwd", "bob").code == 0
    assert cli("watchlist", "remove", "@never_watched").code == 2  # no change, no row

    rows = _chain(engine)
    assert [row["action"] for row in rows] == [
        "user.add", "watchlist.add", "watchlist.disable", "watchlist.enable", "watchlist.remove",
        "watchlist.import", "rules.import", "bank.import", "bank.disable", "bank.enable",
        "user.role", "user.disable", "user.enable", "alert.claim", "alert.decide", "user.add",
        "user.passwd",
    ]  # fmt: skip
    me = getpass.getuser()
    assert {(row["via"], row["os_user"]) for row in rows} == {("cli", me)}
    reviewed = {row["actor"] for row in rows if row["action"].startswith("alert.")}
    assert reviewed == {"alice"}
    assert {row["actor"] for row in rows if not row["action"].startswith("alert.")} == {me}
    assert rows[10]["subject"] == "user alice"
    assert rows[10]["details"] == {"role": {"from": "staff", "to": "admin"}}
    assert rows[11]["details"] == {"enabled": {"from": True, "to": False}}
    assert rows[14]["details"]["decision"] == "confirm"
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1))
    assert "password" not in json.dumps([row["details"] for row in rows])
    assert cli("audit", "verify").out.startswith(f"intact: {len(rows)} rows")


def test_the_database_refuses_to_change_the_audit_tables_and_alert_history(
    engine: Engine, tmp_path: Path
) -> None:
    load_rules(engine, RULES)
    Pipeline(engine).ingest([post(1, "갠텔")])
    _record(engine, 2)
    with engine.begin() as conn:
        checkpoints.checkpoint(conn, checkpoints.load_signing_key(_key(tmp_path)))
    refused = [
        "UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log WHERE seq = 2",
        "UPDATE audit_checkpoint SET length = 1", "DELETE FROM audit_checkpoint",
        "DELETE FROM alert_event", "DELETE FROM alert",
    ]  # fmt: skip
    if engine.dialect.name == "postgresql":
        refused += ["TRUNCATE audit_log", "TRUNCATE audit_checkpoint"]
    for statement in refused:
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(statement))
    # A row that does not extend the head is refused too, whoever writes it.
    head_seq, head = 2, _chain(engine)[-1]["hash"]
    for seq, prev in ((head_seq + 2, head), (head_seq + 1, audit_store.GENESIS)):
        with pytest.raises(DBAPIError, match="extend the head"), engine.begin() as conn:
            conn.execute(
                text("INSERT INTO audit_log (seq, at, actor, via, action, subject, details, "
                     "prev_hash, hash) VALUES (:seq, '2026-01-01', 'm', 'cli', 'x', 'y', '{}', "
                     ":prev, :hash)"),
                {"seq": seq, "prev": prev, "hash": "f" * 64},
            )  # fmt: skip
    assert len(_chain(engine)) == 2


def test_four_concurrent_writers_keep_one_linear_chain(engine: Engine) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(name: str) -> None:
        try:
            start.wait()
            _record(engine, 15, actor=name)
        except BaseException as exc:  # reported below, with the thread's name
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = _chain(engine)
    assert [row["seq"] for row in rows] == list(range(1, 61))
    assert all(row["prev_hash"] == prev["hash"] for prev, row in pairwise(rows))
    assert {row["actor"] for row in rows} == {"w0", "w1", "w2", "w3"}
    assert [row["at"] for row in rows] == sorted(row["at"] for row in rows)
    with engine.connect() as conn:
        assert checkpoints.verify(conn, []).intact


def _key(tmp_path: Path) -> str:
    path = tmp_path / "audit-key.pem"
    if not path.exists():
        checkpoints.keygen(path)
    return f"file:{path}"


def test_verify_names_an_edited_row(cli: Cli, engine: Engine) -> None:
    _record(engine, 5)
    assert cli("audit", "verify").code == 0
    _tamper(engine, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    result = cli("audit", "verify")
    assert result.code == 1
    assert result.out.splitlines() == [
        "broken: audit row 3: its content does not match its hash (edited)"
    ]
    _tamper(engine, "DELETE FROM audit_log WHERE seq = 4")
    assert "broken: audit row 3" in cli("audit", "verify").out


def test_keygen_checkpoint_and_a_rewritten_chain_caught_by_its_checkpoint(
    cli: Cli, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "audit.signing_key is not set" in cli("audit", "checkpoint").err
    made = cli("audit", "keygen", "key.pem")
    assert made.code == 0 and made.out.startswith("public key ")
    public = made.out.split()[2]
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
    assert cli("audit", "keygen", "key.pem").code == 2  # never overwritten
    monkeypatch.setenv("CHANWATCH_AUDIT__SIGNING_KEY", f"file:{tmp_path / 'key.pem'}")
    assert "empty" in cli("audit", "checkpoint").err

    _record(engine, 4)
    signed = cli("audit", "checkpoint")
    assert signed.code == 0 and "length 4 head " in signed.out
    _record(engine, 2)
    assert cli("audit", "verify").out == "intact: 6 rows, 1 checkpoint(s)\n"
    monkeypatch.delenv("CHANWATCH_AUDIT__SIGNING_KEY")
    assert "--public-key" in cli("audit", "verify").err
    assert cli("audit", "verify", "--public-key", public).code == 0
    other = checkpoints.public_hex(checkpoints.keygen(tmp_path / "other.pem"))
    untrusted = cli("audit", "verify", "--public-key", other)
    assert untrusted.code == 1 and "which is not trusted" in untrusted.out

    # Everything rewritten from row 1, hashes recomputed: the chain is consistent again, but
    # its row 4 is no longer the head that was signed.
    _tamper(engine, "DELETE FROM audit_log")
    _record(engine, 6, actor="mallory")
    rewritten = cli("audit", "verify", "--public-key", public)
    assert rewritten.code == 1
    assert rewritten.out.startswith("broken: checkpoint 1 (row 4, ")
    assert "is not the signed head (rewritten)" in rewritten.out
    _tamper(engine, "DELETE FROM audit_log WHERE seq > 2")
    assert "no longer has row 4" in cli("audit", "verify", "--public-key", public).out


def test_a_web_origin_is_recorded_without_an_os_user(engine: Engine) -> None:
    with engine.begin() as conn:
        audit.record(conn, audit.Action.USER_ROLE, "user x", {"role": "staff"}, actor="root",
                     origin=audit.Origin(audit.Via.WEB, None))  # fmt: skip
    (row,) = _chain(engine)
    assert (row["actor"], row["via"], row["os_user"]) == ("root", "web", None)


def test_the_hashed_bytes_are_canonical() -> None:
    one = audit_store.canonical_bytes({"b": 1, "a": {"y": "지인", "x": [True, None]}})
    two = audit_store.canonical_bytes({"a": {"x": [True, None], "y": "지인"}, "b": 1})
    assert one == two == '{"a":{"x":[true,null],"y":"지인"},"b":1}'.encode()
    with pytest.raises(TypeError):
        audit_store.canonical_bytes({"ratio": 0.5})
