"""Rules, banks and the review queue from the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from crawler.cli.alerts_cmd import CSV_COLUMNS
from crawler.matching import workflow
from crawler.matching.workflow import WorkflowError
from crawler.observations import ChannelSnapshot, ForwardRef, LinkKind
from crawler.settings import AlertSettings, Settings
from storage import alert_store
from tests.factories import CHANNEL, T0, link, photo, post
from tests.integration.alert_helpers import (
    NOW,
    Pipeline,
    alerts,
    load_bank,
    load_rules,
    watch,
)
from tests.integration.cli_runner import Cli, Result, add_user

RULES_YAML = """
rules:
  - name: acquaintance-rooms
    severity: critical
    language: ko
    terms: [지인능욕, 겹지인]
  - name: solicitation
    severity: low
    terms: [갠텔]
"""
PDQ = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"


def _error(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1, result
    return lines[0]


def test_rules_import_list_and_test_report_rule_form_and_span(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES_YAML, encoding="utf-8")
    assert cli("rules", "import", "rules.yaml").code == 0
    listed = json.loads(cli("rules", "list", "--format", "json").out)
    assert [r["name"] for r in listed] == ["acquaintance-rooms", "solicitation"]

    hits = json.loads(cli("rules", "test", "새 ㅈㅇㄴㅇ 방, 겹 지 인", "--format", "json").out)
    assert hits == [
        {"rule": "acquaintance-rooms", "term": "지인능욕", "form": "initials", "start": 2,
         "end": 6, "matched_text": "ㅈㅇㄴㅇ", "severity": "critical"},
        {"rule": "acquaintance-rooms", "term": "겹지인", "form": "separated", "start": 10,
         "end": 15, "matched_text": "겹 지 인", "severity": "critical"},
    ]  # fmt: skip
    assert json.loads(cli("rules", "test", "자연노을 사진", "--format", "json").out) == []


def test_a_rule_the_engine_cannot_run_is_rejected_by_name(cli: Cli, tmp_path: Path) -> None:
    bad = RULES_YAML + "  - name: broken\n    regexes: ['(a)\\1']\n"
    (tmp_path / "rules.yaml").write_text(bad, encoding="utf-8")
    assert "'broken'" in _error(cli("rules", "import", "rules.yaml"))
    assert json.loads(cli("rules", "list", "--format", "json").out) == []


def test_bank_import_is_atomic_and_names_every_bad_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "bank.csv").write_text(
        f"signal_type,value,label\npdq,{PDQ.upper()},ok\nmd5,xyz\nsha1,{'a' * 40}\n",
        encoding="utf-8",
    )
    error = _error(cli("banks", "import", "bank.csv", "--bank", "known"))
    assert "line 3: md5 value must be 32 hex digits" in error
    assert "line 4: unknown signal type 'sha1'" in error
    assert json.loads(cli("banks", "list", "--format", "json").out) == []


def test_exchange_records_add_and_withdraw_hashes(cli: Cli, tmp_path: Path) -> None:
    record = {"signal_type": "PHOTO_PDQ", "signal_value": PDQ, "labels": ["case-1", "adult"]}
    (tmp_path / "add.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    (tmp_path / "pull.jsonl").write_text(
        json.dumps({**record, "status": "deleted"}) + "\n", encoding="utf-8"
    )
    assert cli("banks", "import", "add.jsonl", "--bank", "ex", "--severity", "critical").code == 0
    assert cli("banks", "import", "pull.jsonl", "--bank", "ex").code == 0
    (bank,) = json.loads(cli("banks", "list", "--format", "json").out)
    assert (bank["active"], bank["withdrawn"], bank["severity"]) == (0, 1, "critical")
    assert cli("banks", "disable", "ex").code == 0
    assert "no bank named" in _error(cli("banks", "disable", "nope"))


@pytest.fixture
def reviewers(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """alice and bob, staff: `--as` must name an enabled reviewer."""
    for name in ("alice", "bob"):
        assert add_user(cli, monkeypatch, name, "staff").code == 0


@pytest.mark.usefixtures("reviewers")
def test_review_queue_claim_lease_reasons_and_history(cli: Cli, engine: Engine) -> None:
    load_rules(engine, RULES_YAML)
    pipeline = Pipeline(engine)
    pipeline.ingest([post(1, "지인능욕 방 있어요")])

    (listed,) = json.loads(cli("alerts", "list", "--format", "json").out)
    assert set(listed) == {
        "id", "kind", "severity", "priority", "status", "subject", "evidence", "hit_count",
        "first_seen", "last_seen", "assignee",
    }  # fmt: skip
    assert (listed["kind"], listed["status"], listed["subject"]["source"]) == (
        "keyword", "new", "@example_news",
    )  # fmt: skip
    alert_id = str(listed["id"])
    assert cli("alerts", "claim", alert_id, "--as", "alice").code == 0
    assert "claimed by alice" in _error(cli("alerts", "claim", alert_id, "--as", "bob"))
    refused = cli("alerts", "decide", alert_id, "dismiss", "--as", "alice")
    assert "needs a reason (--reason)" in _error(refused)
    decided = cli("alerts", "decide", alert_id, "dismiss", "--as", "alice", "--reason", "news")
    assert decided.code == 0

    pipeline.ingest([post(1, "지인능욕 방 다시", edited_at=T0 + timedelta(hours=2))])
    shown = json.loads(cli("alerts", "show", alert_id, "--format", "json").out)
    assert (shown["status"], shown["hit_count"]) == ("dismissed", 2)
    history = [(e["actor"], e["action"], e["from"], e["to"], e["reason"]) for e in shown["events"]]
    assert history == [
        ("chanwatch", "raised", None, "new", None),
        ("alice", "claim", "new", "in_review", None),
        ("alice", "dismiss", "in_review", "dismissed", "news"),
    ]  # fmt: skip
    assert "decided alerts stay decided" in _error(cli("alerts", "claim", alert_id, "--as", "bob"))
    table = cli("alerts", "list", "--status", "dismissed")
    assert table.code == 0 and "keyword" in table.out


def test_an_expired_lease_lets_another_reviewer_claim(engine: Engine) -> None:
    load_rules(engine, RULES_YAML)
    Pipeline(engine).ingest([post(1, "갠텔")])
    (alert,) = alerts(engine)
    with engine.begin() as conn:
        workflow.claim(conn, alert["id"], "alice", NOW, lease_s=60)
    with engine.begin() as conn, pytest.raises(WorkflowError):
        workflow.claim(conn, alert["id"], "bob", NOW + timedelta(seconds=59), lease_s=60)
    with engine.begin() as conn:
        workflow.claim(conn, alert["id"], "bob", NOW + timedelta(seconds=61), lease_s=60)
        status = workflow.decide(
            conn, alert["id"], workflow.Decision.ESCALATE, "bob", NOW + timedelta(seconds=62)
        )
    assert status == "escalated"
    assert alerts(engine)[0]["assignee"] == "bob"


@pytest.mark.usefixtures("reviewers")
def test_dismissing_a_hash_match_into_a_negative_bank_silences_that_hash(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_bank(engine, f"pdq,{PDQ},case-7\n")
    pipeline = Pipeline(engine)
    media = replace(photo("01" * 32), pdq=PDQ, pdq_quality=90)
    pipeline.ingest([post(1, media=(media,))])
    (alert,) = alerts(engine)
    decide = ("alerts", "decide", str(alert["id"]), "dismiss", "--reason", "stock photo",
              "--negative-bank", "benign")  # fmt: skip
    # Staff add entries to negative banks; making a new bank is an admin's.
    assert "an admin creates banks" in _error(cli(*decide, "--as", "alice"))
    assert add_user(cli, monkeypatch, "ada", "admin").code == 0
    result = cli(*decide, "--as", "ada")
    assert result.code == 0, result.err

    pipeline.ingest([post(2, media=(replace(media, sha256="02" * 32),))])
    assert len(alerts(engine)) == 1
    banks = {b["name"]: b for b in json.loads(cli("banks", "list", "--format", "json").out)}
    assert banks["benign"]["negative"] and banks["benign"]["active"] == 1


def test_the_alert_history_cannot_be_rewritten(engine: Engine) -> None:
    load_rules(engine, RULES_YAML)
    Pipeline(engine).ingest([post(1, "갠텔")])
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE alert_event SET actor = 'mallory'"))


def test_collected_text_is_neutralized_in_the_queue_views(cli: Cli, engine: Engine) -> None:
    load_rules(engine, RULES_YAML)
    Pipeline(engine).ingest([post(1, "갠텔\u202e\x1b[31m 연락\u2066")])
    (alert,) = alerts(engine)

    for args in (("alerts", "list"), ("alerts", "show", str(alert["id"]))):
        shown = cli(*args)
        assert shown.code == 0 and "갠텔" in shown.out
        assert not any(c in shown.out for c in "\x1b\u202e\u2066"), args


# --- what a reviewer reads -------------------------------------------------------------------

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def _labelled(out: str) -> dict[str, list[str]]:
    """label -> values of the `label: value` lines of `alerts show` (nesting flattened)."""
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        label, sep, value = line.strip().partition(": ")
        if sep:
            found.setdefault(label, []).append(value.strip())
    return found


def test_show_labels_keyword_evidence_and_shows_the_disguise(cli: Cli, engine: Engine) -> None:
    load_rules(engine, RULES_YAML)
    Pipeline(engine).ingest([post(1, "새 겹\u200b지인방\u202e 링크")])
    (alert,) = alerts(engine)
    hit = alert["evidence"]["hits"][0]

    shown = cli("alerts", "show", str(alert["id"]))
    assert shown.code == 0, shown.err
    assert "{" not in shown.out and "'hits'" not in shown.out  # no Python repr
    lines = _labelled(shown.out)
    assert lines["rule"] == ["acquaintance-rooms"]
    assert lines["term"] == ["겹지인"]
    assert lines["form"] == [hit["form"]]
    assert lines["matched text"] == ["겹⟨ZWSP⟩지인"]
    assert lines["hits in text"] == ["1"]
    assert TIME.fullmatch(lines["first seen"][0].removesuffix(" UTC"))
    assert lines["text"] == ["새 겹⟨ZWSP⟩지인방\ufffd 링크"]
    assert not any(c in shown.out for c in "\u200b\u202e")


def test_show_labels_hash_match_evidence(cli: Cli, engine: Engine) -> None:
    load_bank(engine, f"pdq,{PDQ},case\u202e-7\n")
    media = replace(photo("01" * 32), pdq=PDQ[:-1] + ("3" if PDQ[-1] == "2" else "2"),
                    pdq_quality=90)  # fmt: skip
    Pipeline(engine).ingest([post(1, media=(media,))])
    (alert,) = alerts(engine)

    lines = _labelled(cli("alerts", "show", str(alert["id"])).out)
    evidence = alert["evidence"]
    assert lines["bank"] == ["known"]
    assert lines["entry"] == [str(evidence["entry_id"])]
    assert lines["label"] == ["case\ufffd-7"]
    assert lines["signal"] == ["pdq"]
    assert lines["distance"] == [str(evidence["distance"])] and evidence["distance"] > 0
    assert lines["quality"] == ["90"]
    assert lines["orientation"] == [str(evidence["orientation"])]
    assert lines["media hash"] == [media.pdq]


def test_show_labels_source_change_before_and_after(cli: Cli, engine: Engine) -> None:
    watch(engine, "@example_news")
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="방 1")])
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="방\u3164\x1b 2")])
    (alert,) = alerts(engine, kind="source_change")

    lines = _labelled(cli("alerts", "show", str(alert["id"])).out)
    assert (lines["change"], lines["before"], lines["after"]) == (
        ["title"], ["방 1"], ["방⟨HF⟩\ufffd 2"],
    )  # fmt: skip
    assert lines["subject"] == ["@example_news"]


def test_show_labels_discovery_references(cli: Cli, engine: Engine) -> None:
    watch(engine, "@example_news")
    pipeline = Pipeline(engine, Settings(alerts=AlertSettings(discovery_min_refs=2)))
    pipeline.ingest([
        post(1, links=(link("https://t.me/new_room", LinkKind.CHANNEL, "new_room"),)),
        post(2, fwd_from=ForwardRef(username="new_room")),
    ])  # fmt: skip
    (alert,) = alerts(engine, kind="discovery")

    out = cli("alerts", "show", str(alert["id"])).out
    assert re.search(r"^  channel: +@new_room$", out, re.M)
    assert re.search(r"^  referencing items: +2$", out, re.M)
    # The counts per kind of reference sit under their key, in the same order on both databases.
    assert re.search(r"^  via:\n    channel: +1\n    forward: +1$", out, re.M)
    recent = ", ".join(str(i) for i in alert["evidence"]["recent_item_ids"])
    assert re.search(rf"^  recent items: +{recent}$", out, re.M)


def test_show_json_is_the_stored_record(cli: Cli, engine: Engine) -> None:
    load_rules(engine, RULES_YAML)
    Pipeline(engine).ingest([post(1, "겹\u200b지인방\u202e")])
    (alert,) = alerts(engine)
    shown = json.loads(cli("alerts", "show", str(alert["id"]), "--format", "json").out)
    with engine.connect() as conn:
        assert shown == alert_store.alert_detail(conn, alert["id"])
    assert shown["evidence"]["hits"][0]["matched_text"] == "겹\u200b지인"


def test_list_fits_80_columns_one_line_per_alert(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_rules(engine, RULES_YAML)
    watch(engine, "@example_news")
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="방 1")])
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="방 " * 40)])
    pipeline.ingest([post(1, "지인능욕 " * 30), post(2, "갠텔 " + "x" * 200)])
    listed = alerts(engine)
    assert {a["kind"] for a in listed} == {"keyword", "source_change"} and len(listed) == 3
    monkeypatch.setenv("COLUMNS", "80")

    out = cli("alerts", "list").out
    lines = out.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), out
    for alert in listed:
        (row,) = [line for line in lines if line.startswith(f"{alert['id']} ")]
        assert TIME.search(row) and alert["kind"] in row and alert["status"] in row
    assert out.count("UTC") == 1
    assert "+00:00" not in out and not re.search(r"\d\d:\d\d:\d\d[.Z]", out)
    assert "…" in out


def test_list_csv_keeps_handles_usable_and_guards_free_text(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert add_user(cli, monkeypatch, "=cmd|' /C calc'!A0", "staff").code == 0
    load_rules(engine, RULES_YAML)
    Pipeline(engine).ingest([post(1, "지인능욕 \u202e방")])
    (alert,) = alerts(engine)
    assert cli("alerts", "claim", str(alert["id"]), "--as", "=cmd|' /C calc'!A0").code == 0

    (row,) = csv.DictReader(io.StringIO(cli("alerts", "list", "--format", "csv").out))
    assert list(row) == list(CSV_COLUMNS)
    assert row["username"] == "example_news"  # no guard: sorts and looks up as typed
    assert row["source"] == "'@example_news"
    assert row["assignee"] == "'=cmd|' /C calc'!A0"
    assert (row["id"], row["kind"], row["status"]) == (str(alert["id"]), "keyword", "in_review")
    assert row["platform_id"] == "1" and row["last_seen"] == alert["last_seen"]
    assert "\u202e" not in row["evidence"]
    assert json.loads(row["evidence"].replace("\ufffd", "\u202e")) == alert["evidence"]


@pytest.mark.usefixtures("reviewers")
def test_an_admin_releases_or_reassigns_a_claim_from_the_cli(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_rules(engine, RULES_YAML)
    Pipeline(engine).ingest([post(1, "갠텔")])
    (alert,) = alerts(engine)
    alert_id = str(alert["id"])
    assert add_user(cli, monkeypatch, "ada", "admin").code == 0
    assert add_user(cli, monkeypatch, "ivy", "investigator").code == 0
    assert cli("alerts", "claim", alert_id, "--as", "alice").code == 0
    assert "claimed by alice" in _error(cli("alerts", "release", alert_id, "--as", "bob"))
    refused = cli("alerts", "assign", alert_id, "bob", "--as", "bob")
    assert "may not assign_alerts" in _error(refused)
    assert "may not review_alerts" in _error(
        cli("alerts", "assign", alert_id, "ivy", "--as", "ada")
    )
    assert cli("alerts", "release", alert_id, "--as", "ada").out.strip() == f"alert {alert_id} new"
    assigned = cli("alerts", "assign", alert_id, "bob", "--as", "ada")
    assert assigned.code == 0 and "assigned to bob" in assigned.out
    shown = json.loads(cli("alerts", "show", alert_id, "--format", "json").out)
    assert (shown["status"], shown["assignee"]) == ("in_review", "bob")
    history = [(e["actor"], e["action"], e["to"], e["reason"]) for e in shown["events"]][1:]
    assert history == [
        ("alice", "claim", "in_review", None),
        ("ada", "release", "new", None),
        ("ada", "assign", "in_review", "to bob"),
    ]  # fmt: skip
