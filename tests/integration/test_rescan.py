"""`chanwatch rescan`: banks and rules imported after the fact find what was already collected,
raising the alerts the live matchers raise, once. SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from crawler.ingest import ingest
from crawler.matching import rescan_texts
from crawler.matching.caches import rule_to_row
from crawler.matching.keywords import load_rules_yaml
from crawler.matching.rescan import rescan
from crawler.observations import (
    ChannelSnapshot,
    Counter,
    HashStatus,
    ItemGone,
    MediaHashes,
    Platform,
    SourceKey,
)
from crawler.settings import Settings
from storage import bank_store
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.factories import CHANNEL, T0, post
from tests.integration.alert_helpers import Pipeline, alerts
from tests.integration.cli_runner import Cli

RNG = random.Random(5)
SHA = "5e" * 32
RULES = """rules:
  - name: rooms
    severity: critical
    terms: [지인능욕]
  - name: synthesis
    severity: high
    terms: [합성방]
"""


def _pdq() -> str:
    return f"{RNG.getrandbits(256):064x}"


def _picture(sha: str, pdq: str, dihedral: tuple[str, ...] = ()) -> MediaHashes:
    return MediaHashes(
        kind="photo", mime="image/jpeg", size=2048, width=640, height=480, sha256=sha,
        md5=sha[:32], pdq=pdq, pdq_quality=100, pdq_dihedral=dihedral,
        hash_status=HashStatus.HASHED,
    )  # fmt: skip


def _hash_alerts(engine: Engine) -> dict[str, dict[str, Any]]:
    return {a["subject"]["platform_id"]: a for a in alerts(engine, kind="hash_match")}


def _counts(out: str) -> dict[str, str]:
    lines = [line.split(": ", 1) for line in out.splitlines() if line.startswith(("hash", "key"))]
    return dict(lines)


def test_a_bank_imported_after_the_photo_raises_the_live_alert_once(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    mirrored = (_pdq(), _pdq(), _pdq(), _pdq(), _pdq(), _pdq(), _pdq())  # flip_x is [3]
    ingest(engine, [
        post(1, "사진", media=(_picture(SHA, _pdq()),)),
        post(2, "다른 사진", media=(_picture("7a" * 32, _pdq(), mirrored),)),
    ])  # fmt: skip
    banked = tmp_path / "known.csv"
    banked.write_text(f"sha256,{SHA},case-1\npdq,{mirrored[3]},case-2\n", encoding="utf-8")
    assert cli("banks", "import", str(banked), "--bank", "known").code == 0
    assert alerts(engine) == []

    first = cli("rescan")
    assert first.code == 0, first.err
    assert first.out.startswith("rescanned 2 media, 0 texts")  # no rules: no text read
    assert _counts(first.out) == {"hash_match": "2 new, 0 repeated", "keyword": "0 new, 0 repeated"}
    found = _hash_alerts(engine)
    assert found["1"]["evidence"]["signal_type"] == "sha256"
    assert found["1"]["evidence"]["label"] == "case-1"
    assert (found["2"]["evidence"]["signal_type"], found["2"]["evidence"]["orientation"]) == (
        "pdq", "flip_x",
    )  # fmt: skip

    second = cli("rescan")
    assert _counts(second.out)["hash_match"] == "0 new, 2 repeated"
    again = _hash_alerts(engine)
    assert [a["hit_count"] for a in again.values()] == [1, 1]
    assert {k: a["last_seen"] for k, a in again.items()} == {
        k: a["last_seen"] for k, a in found.items()
    }

    # The live path raises the same alert for the same picture posted anew.
    Pipeline(engine).ingest([post(3, "또", media=(_picture(SHA, _pdq()),))])
    live = _hash_alerts(engine)["3"]
    assert (live["severity"], live["evidence"]) == (found["1"]["severity"], found["1"]["evidence"])


def test_banks_import_with_rescan_raises_at_once(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    ingest(engine, [post(1, "사진", media=(_picture(SHA, _pdq()),))])
    (tmp_path / "known.csv").write_text(f"sha256,{SHA}\n", encoding="utf-8")

    result = cli("banks", "import", "known.csv", "--bank", "known", "--rescan")

    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "bank known: 1 hash(es) active, 0 withdrawn"
    assert _counts(result.out)["hash_match"] == "1 new, 0 repeated"
    assert list(_hash_alerts(engine)) == ["1"]


def test_a_later_rule_finds_an_earlier_version_and_a_deleted_item(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    later = T0 + timedelta(hours=5)
    ingest(engine, [post(1, "지인능욕 방 링크"), post(2, "합성방 모집"), post(3, "날씨 좋다")])
    ingest(engine, [post(1, "평범한 글로 수정", observed_at=later, edited_at=later)])
    ingest(engine, [ItemGone(CHANNEL, "2", later)])
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")

    result = cli("rules", "import", "rules.yaml", "--rescan")

    assert result.code == 0, result.err
    assert result.out.startswith("imported 2 rule(s)\nrescanned 0 media, 4 texts")
    assert _counts(result.out)["keyword"] == "2 new, 0 repeated"
    found = {a["subject"]["platform_id"]: a for a in alerts(engine, kind="keyword")}
    assert found["1"]["evidence"]["rule"] == "rooms"
    assert found["1"]["evidence"]["hits"][0]["matched_text"] == "지인능욕"
    assert (found["2"]["evidence"]["rule"], found["2"]["severity"]) == ("synthesis", "high")
    assert _counts(cli("rescan").out)["keyword"] == "0 new, 2 repeated"


@pytest.mark.parametrize(("texts_per_range", "workers"), [(1, 1), (2, 2), (3, 2), (20_000, 2)])
def test_an_items_versions_in_any_range_or_process_raise_its_alert_once_at_its_best(
    cli: Cli,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    texts_per_range: int,
    workers: int,
) -> None:
    """Texts are matched in ranges by worker processes, each raising its own: the versions of
    one item must still make one alert, with the evidence of its best version."""
    monkeypatch.setattr(rescan_texts, "TEXT_RANGE", texts_per_range)
    monkeypatch.setenv("CHANWATCH_ALERTS__RESCAN_WORKERS", str(workers))
    ingest(engine, [post(1, "지인능욕 모집"), post(2, "합성방 링크"), post(3, "날씨")])
    for hour, body in enumerate(["지인능욕 지인능욕 모집", "지 인 능 욕", "평범한 글"], 1):
        at = T0 + timedelta(hours=hour)
        ingest(engine, [post(1, body, observed_at=at, edited_at=at)])
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")

    result = cli("rules", "import", "rules.yaml", "--rescan")

    assert result.code == 0, result.err
    assert _counts(result.out)["keyword"] == "2 new, 0 repeated"
    found = {a["subject"]["platform_id"]: a for a in alerts(engine, kind="keyword")}
    assert sorted(found) == ["1", "2"]
    # Of item 1's versions, the one written as is (the highest confidence) gives the evidence.
    assert {h["form"] for h in found["1"]["evidence"]["hits"]} == {"as_written"}
    assert _counts(cli("rescan").out)["keyword"] == "0 new, 2 repeated"


def test_rescanned_texts_rank_as_the_live_path_ranks_the_same_posts(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert's priority weighs its reach: the item's views or its channel's members,
    whichever is larger, read by the rescan beside each text (an edited item's versions
    included) as the live matchers read them."""
    monkeypatch.setattr(rescan_texts, "TEXT_RANGE", 2)
    big = SourceKey(Platform.TELEGRAM, platform_id="555", username="big_room")
    crowd = ChannelSnapshot(big, T0, username="big_room", participants=Counter(250_000))
    posts = [
        post(1, "지인능욕 모집", views=Counter(40)),  # reach: its views
        post(2, "지인능욕 방", views=Counter(900_000)),
        post(3, "합성방 링크", source=big, url="https://t.me/big_room/3", views=Counter(7)),
    ]
    ingest(engine, [crowd, *posts])
    at = T0 + timedelta(hours=2)
    ingest(engine, [post(1, "지인능욕 모집 (수정)", views=Counter(40), observed_at=at,
                         edited_at=at)])  # fmt: skip
    with engine.begin() as conn:
        bank_store.upsert_rules(conn, [rule_to_row(r) for r in load_rules_yaml(RULES)], T0)

    report = rescan(engine, Settings(), workers=2)

    assert report.new["keyword"] == 3
    rescanned = {a["subject"]["platform_id"]: a for a in alerts(engine, kind="keyword")}
    # The same posts again under new ids, matched live.
    Pipeline(engine).ingest([crowd, *(
        dataclasses.replace(p, message_id=p.message_id + 10, url=f"{p.url}0") for p in posts
    )])  # fmt: skip
    live = {a["subject"]["platform_id"]: a for a in alerts(engine, kind="keyword")}
    for n in ("1", "2", "3"):
        again = live[str(int(n) + 10)]
        assert (rescanned[n]["priority"], rescanned[n]["severity"]) == (
            again["priority"], again["severity"],
        ), n  # fmt: skip
        assert rescanned[n]["subject"]["source"] == again["subject"]["source"]
    ranks = [rescanned[n]["priority"] for n in ("1", "2", "3")]
    assert ranks[0] < ranks[1]  # same rule and form, 900,000 views against 40
    assert rescanned["3"]["subject"]["source"] == "@big_room"


def test_a_database_in_memory_is_rescanned_in_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A forked worker would match and write into its own copy of a SQLite database in memory,
    and the alerts it reported would be nowhere."""
    engine = make_engine("sqlite://")
    upgrade(engine)
    ingest(engine, [post(n, "지인능욕 모집") for n in (1, 2, 3)])
    with engine.begin() as conn:
        bank_store.upsert_rules(conn, [rule_to_row(r) for r in load_rules_yaml(RULES)], T0)
    monkeypatch.setattr(rescan_texts, "TEXT_RANGE", 1)

    report = rescan(engine, Settings(), workers=2)

    assert report.new["keyword"] == 3
    assert sorted(a["subject"]["platform_id"] for a in alerts(engine)) == ["1", "2", "3"]


def test_since_leaves_out_what_was_collected_before(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    ingest(engine, [post(1, "지인능욕", media=(_picture(SHA, _pdq()),))])
    ingest(
        engine,
        [post(2, "지인능욕", media=(_picture(SHA, _pdq()),), observed_at=T0 + timedelta(days=3))],
    )
    (tmp_path / "known.csv").write_text(f"sha256,{SHA}\n", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    assert cli("banks", "import", "known.csv", "--bank", "known").code == 0
    assert cli("rules", "import", "rules.yaml").code == 0

    result = cli("rescan", "--since", (T0 + timedelta(days=2)).date().isoformat())

    assert result.out.startswith("rescanned 1 media, 1 texts")
    assert [(a["kind"], a["subject"]["platform_id"]) for a in alerts(engine)] == [
        ("keyword", "2"), ("hash_match", "2"),
    ]  # fmt: skip
    assert cli("rescan", "--since", "yesterday").code == 2


def test_bank_and_rule_narrow_the_rescan(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    other = "6f" * 32
    ingest(engine, [
        post(1, "지인능욕", media=(_picture(SHA, _pdq()),)),
        post(2, "합성방", media=(_picture(other, _pdq()),)),
    ])  # fmt: skip
    (tmp_path / "a.csv").write_text(f"sha256,{SHA}\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text(f"md5,{other[:32]}\n", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    for name in ("a", "b"):
        assert cli("banks", "import", f"{name}.csv", "--bank", name).code == 0
    assert cli("rules", "import", "rules.yaml").code == 0

    by_bank = cli("rescan", "--bank", "b")
    assert by_bank.out.startswith("rescanned 2 media, 0 texts")
    assert [a["evidence"]["bank"] for a in alerts(engine)] == ["b"]
    by_rule = cli("rescan", "--rule", "rooms")
    assert by_rule.out.startswith("rescanned 0 media, 2 texts")
    assert sorted(a["evidence"].get("rule", "-") for a in alerts(engine)) == ["-", "rooms"]

    assert cli("rescan", "--bank", "a", "--rule", "rooms").code == 2
    assert cli("rescan", "--bank", "nope").code == 2
    assert cli("rescan", "--rule", "nope").code == 2
    assert cli("rescan", "--workers", "0").code == 2
    assert len(alerts(engine)) == 2


def test_a_rescan_queues_one_summary_notification(
    cli: Cli, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANWATCH_NOTIFY__WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("CHANWATCH_NOTIFY__WEBHOOK_SECRET", "s3cret")
    ingest(engine, [post(n, "지인능욕 합성방", media=(_picture(SHA, _pdq()),)) for n in (1, 2, 3)])
    (tmp_path / "known.csv").write_text(f"sha256,{SHA}\n", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    assert cli("banks", "import", "known.csv", "--bank", "known", "--severity", "high").code == 0
    assert cli("rules", "import", "rules.yaml").code == 0

    result = cli("rescan")

    assert "summary notification queued for 1 destination(s)" in result.out
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT alert_id, destination, payload FROM notify_outbox")).all()
    ((alert_id, destination, payload),) = [tuple(r) for r in rows]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert destination == "webhook:0"
    assert payload["kind"] == "rescan"
    assert payload["alerts"] == 9
    assert payload["by_kind"] == {"hash_match": 3, "keyword": 6}
    assert (payload["alert_id"], payload["severity"]) == (alert_id, "critical")
    assert "지인능욕" not in str(payload)
    assert "summary" not in cli("rescan").out  # nothing new, nothing sent
