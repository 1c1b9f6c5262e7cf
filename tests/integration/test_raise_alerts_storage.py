"""Raising alerts set-based (storage.alert_store.raise_alerts through storage/bulk.py), on SQLite
and PostgreSQL: new keys become alerts with one `raised` event each, a stored key counts a hit
(and takes the new evidence only when asked), status is never touched, and of several
candidates with one key the highest priority one counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from crawler.matching.alerts import Candidate, Kind
from storage import alert_store
from storage.models import Alert, AlertEvent
from tests.factories import T0

LATER = T0 + timedelta(hours=3)
HIT = {"term": "지인능욕", "start": 3, "end": 7, "matched_text": "지인 능욕"}
EVIDENCE = {"rule": "지인능욕 rooms", "hit_count": 2, "hits": [HIT, {**HIT, "start": 9}]}


def _stored(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {row.dedupe_key: dict(row._mapping) for row in conn.execute(select(Alert))}


def _events(engine: Engine) -> list[tuple[int, str, str | None, str | None, str]]:
    e = AlertEvent.__table__.c
    with engine.connect() as conn:
        query = select(e.alert_id, e.action, e.from_status, e.to_status, e.actor).order_by(e.id)
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def _raise(engine: Engine, candidates: list[Candidate], at: Any = T0) -> list[Any]:
    with engine.begin() as conn:
        return alert_store.raise_alerts(conn, candidates, at)


def test_new_keys_become_alerts_with_one_raised_event_each(engine: Engine) -> None:
    candidates = [
        Candidate(Kind.KEYWORD, "critical", f"keyword:rooms:{n}", {**EVIDENCE, "n": n},
                  confidence=0.8, reach=n, item_id=None, refresh_evidence=n % 2 == 0)
        for n in range(1_234)  # more than one chunk of keys
    ]  # fmt: skip
    candidates.append(Candidate(Kind.HASH_MATCH, "high", "hash_match:7:1", {"bank": "known"}))

    new = _raise(engine, candidates)

    stored = _stored(engine)
    assert [a.dedupe_key for a in new] == [c.dedupe_key for c in candidates]
    assert {a.dedupe_key: a.id for a in new} == {k: row["id"] for k, row in stored.items()}
    assert all((a.kind, a.severity) == (stored[a.dedupe_key]["kind"],
                                        stored[a.dedupe_key]["severity"]) for a in new)  # fmt: skip
    row = stored["keyword:rooms:5"]
    assert row["evidence"] == {**EVIDENCE, "n": 5}
    assert (row["rule"], row["bank"], row["status"], row["hit_count"]) == (
        "지인능욕 rooms", None, "new", 1)
    assert row["priority"] == candidates[5].priority
    assert row["first_seen"] == row["last_seen"] == T0
    assert (stored["hash_match:7:1"]["rule"], stored["hash_match:7:1"]["bank"]) == (None, "known")
    assert sorted(_events(engine)) == sorted(
        (a.id, "raised", None, "new", "chanwatch") for a in new
    )


def test_a_stored_key_counts_a_hit_and_keeps_its_status(engine: Engine) -> None:
    first = [
        Candidate(Kind.KEYWORD, "high", "keyword:a:1", {"rule": "a", "v": 1},
                  refresh_evidence=True),
        Candidate(Kind.HASH_MATCH, "high", "hash_match:1:1", {"bank": "b", "v": 1}),
    ]  # fmt: skip
    [a, b] = _raise(engine, first)
    with engine.begin() as conn:
        conn.execute(update(Alert.__table__).where(Alert.__table__.c.id == a.id)
                     .values(status="dismissed"))  # fmt: skip
    again = [
        Candidate(Kind.KEYWORD, "high", "keyword:a:1", {"rule": "a", "v": 2},
                  refresh_evidence=True),
        Candidate(Kind.HASH_MATCH, "high", "hash_match:1:1", {"bank": "b", "v": 2}),
        Candidate(Kind.KEYWORD, "low", "keyword:a:2", {"rule": "a", "v": 2}),
    ]  # fmt: skip

    new = _raise(engine, again, LATER)

    stored = _stored(engine)
    assert [n.dedupe_key for n in new] == ["keyword:a:2"]
    refreshed, kept = stored["keyword:a:1"], stored["hash_match:1:1"]
    assert (refreshed["id"], refreshed["status"], refreshed["hit_count"]) == (a.id, "dismissed", 2)
    assert refreshed["evidence"] == {"rule": "a", "v": 2}  # refresh_evidence: the new one
    assert kept["evidence"] == {"bank": "b", "v": 1}  # otherwise the first stays
    assert (kept["id"], kept["status"], kept["hit_count"]) == (b.id, "new", 2)
    for row in (refreshed, kept):
        assert (row["first_seen"], row["last_seen"]) == (T0, LATER)
    assert sorted(e[0] for e in _events(engine)) == sorted([a.id, b.id, new[0].id])


def test_of_one_key_in_a_call_the_highest_priority_candidate_counts(engine: Engine) -> None:
    candidates = [
        Candidate(Kind.KEYWORD, "medium", "keyword:r:9", {"rule": "r", "form": "jamo"},
                  confidence=0.6),
        Candidate(Kind.KEYWORD, "critical", "keyword:r:9", {"rule": "r", "form": "as_written"},
                  confidence=1.0),
        Candidate(Kind.KEYWORD, "high", "keyword:r:9", {"rule": "r", "form": "initials"},
                  confidence=0.4),
    ]  # fmt: skip

    new = _raise(engine, candidates)

    [row] = _stored(engine).values()
    assert len(new) == 1 and new[0].severity == "critical"
    assert (row["severity"], row["hit_count"]) == ("critical", 1)
    assert row["evidence"]["form"] == "as_written"
    assert row["priority"] == candidates[1].priority
    assert len(_events(engine)) == 1


def test_nothing_to_raise_writes_nothing(engine: Engine) -> None:
    assert _raise(engine, []) == []
    assert _stored(engine) == {} and _events(engine) == []


def test_raise_absent_inserts_only_new_keys_and_leaves_stored_alerts_untouched(
    engine: Engine,
) -> None:
    [stored_alert] = _raise(engine, [
        Candidate(Kind.KEYWORD, "high", "keyword:a:1", {"rule": "a", "v": 1},
                  refresh_evidence=True),
    ])  # fmt: skip
    with engine.begin() as conn:
        conn.execute(update(Alert.__table__).where(Alert.__table__.c.id == stored_alert.id)
                     .values(status="dismissed"))  # fmt: skip
    before = _stored(engine)["keyword:a:1"]
    candidates = [
        Candidate(Kind.KEYWORD, "critical", "keyword:a:1", {"rule": "a", "v": 2},
                  refresh_evidence=True),
        Candidate(Kind.KEYWORD, "low", "keyword:a:2", {"rule": "a", "form": "jamo"},
                  confidence=0.6),
        Candidate(Kind.KEYWORD, "high", "keyword:a:2", {"rule": "a", "form": "as_written"}),
        Candidate(Kind.HASH_MATCH, "high", "hash_match:1:1", {"bank": "b"}),
    ]  # fmt: skip

    with engine.begin() as conn:
        new, present = alert_store.raise_absent(conn, candidates, LATER)

    stored = _stored(engine)
    assert [a.dedupe_key for a in new] == ["keyword:a:2", "hash_match:1:1"]
    assert present == {"keyword:a:1"}
    assert stored["keyword:a:1"] == before  # no hit counted, no evidence, status, time moved
    assert stored["keyword:a:2"]["evidence"]["form"] == "as_written"  # the best of its key
    assert {a.dedupe_key: a.id for a in new} == {
        key: stored[key]["id"] for key in ("keyword:a:2", "hash_match:1:1")
    }
    assert sorted(_events(engine)) == sorted(
        (a.id, "raised", None, "new", "chanwatch") for a in [stored_alert, *new]
    )
