"""The review queue's storage, on SQLite and PostgreSQL: migration 0011 fills `alert.rule` and
`alert.bank` from the evidence of alerts stored before it, and keyset paging over the queue,
filtered or not, returns every alert exactly once, in queue order."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.engine import make_url

from crawler.ingest import ingest
from crawler.matching.alerts import Candidate, Kind
from crawler.observations import Platform, SourceKey
from storage import alert_store, review_queries
from storage.engine import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Alert, AlertEvent, Item, Source
from storage.review_queries import QueueFilter
from tests.factories import T0, post
from tests.integration.query_plans import plan, statements_sent

OTHER = SourceKey(Platform.TELEGRAM, platform_id="2222222222", username="Other_Room")


# ---------------------------------------------------------------- migration 0011 backfill


@pytest.fixture(params=["sqlite", "postgres"])
def engine_at_0010(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own migrated to 0010 (the shared test databases are at head)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'at_0010.db'}")
        upgrade(engine, "0010")
        yield engine
        engine.dispose()
        return
    url = make_url(request.getfixturevalue("postgres_url"))
    name = f"{url.database}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(url.render_as_string(False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                          "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))  # fmt: skip
    engine = make_engine(url.set(database=name).render_as_string(False))
    try:
        upgrade(engine, "0010")
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


EVIDENCE = {
    "keyword:rooms:1": {"rule": "rooms", "hit_count": 1, "hits": []},
    "hash_match:7:1": {"bank": "known", "label": "x", "distance": 3},
    "keyword:long:1": {"rule": "규칙" * 60},  # longer than the column: cut to 100
    "odd:both:1": {"rule": "r", "bank": "b"},
    "odd:not-text:1": {"rule": 12, "bank": ["known"]},  # not a name: stays NULL
    "discovery:@room": {"channel": "@room", "items": 3},
}


def test_migration_0011_fills_rule_and_bank_of_alerts_stored_before_it(
    engine_at_0010: Engine,
) -> None:
    engine = engine_at_0010
    # The alert table as 0010 left it: no rule or bank column yet, so only its columns are
    # given (the model's rule and bank have no default, so the insert leaves them out).
    rows = [
        {"kind": key.split(":")[0], "severity": "high", "priority": 1.0, "status": "new",
         "dedupe_key": key, "evidence": evidence, "hit_count": 1, "first_seen": T0,
         "last_seen": T0}
        for key, evidence in EVIDENCE.items()
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Alert.__table__), rows)
        ids = dict(conn.execute(select(Alert.dedupe_key, Alert.id)).tuples().all())
        # Every stored alert has its history, which the table copy of SQLite's batch mode
        # must leave pointing at it.
        conn.execute(insert(AlertEvent.__table__), [
            {"alert_id": alert_id, "at": T0, "actor": "chanwatch", "action": "raised",
             "from_status": None, "to_status": "new", "reason": None}
            for alert_id in ids.values()
        ])  # fmt: skip

    upgrade(engine)

    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as conn:
        stored = {
            key: (rule, bank)
            for key, rule, bank in conn.execute(select(Alert.dedupe_key, Alert.rule, Alert.bank))
        }
        events = conn.execute(select(AlertEvent.alert_id)).scalars().all()
        # The new columns are what a new alert with the same evidence gets.
        assert stored == {
            key: tuple(alert_store.named_columns(evidence).values())
            for key, evidence in EVIDENCE.items()
        }
        assert stored["keyword:rooms:1"] == ("rooms", None)
        assert stored["hash_match:7:1"] == (None, "known")
        assert stored["keyword:long:1"] == ("규칙" * 50, None)
        assert stored["odd:both:1"] == ("r", "b")
        assert stored["odd:not-text:1"] == (None, None)
        assert sorted(events) == sorted(ids.values())
        # ... and the queue filters on them.
        by_rule = review_queries.review_queue(conn, QueueFilter(rule="rooms"))
        by_bank = review_queries.review_queue(conn, QueueFilter(bank="known"))
    assert [a["id"] for a in by_rule] == [ids["keyword:rooms:1"]]
    assert [a["id"] for a in by_bank] == [ids["hash_match:7:1"]]


# ---------------------------------------------------------------- keyset paging


def _fill_queue(engine: Engine) -> None:
    """Alerts of several kinds, rules, banks, sources and statuses, raised in three batches so
    many share a priority and a last_seen (the id decides between them), some raised again
    later (last_seen moves, first_seen stays)."""
    ingest(engine, [post(n, f"글 {n}") for n in range(1, 13)])
    ingest(engine, [
        post(n, f"다른 글 {n}", source=OTHER, url=f"https://t.me/Other_Room/{n}")
        for n in range(1, 13)
    ])  # fmt: skip
    with engine.connect() as conn:
        items = conn.execute(select(Item.id, Item.source_id).order_by(Item.id)).all()
    candidates: list[list[Candidate]] = [[], [], []]
    for n in range(90):
        item_id, source_id = items[n % len(items)]
        severity = ("critical", "high", "medium")[n % 3]
        confidence = (1.0, 0.5)[n // 3 % 2]
        if n % 5 == 4:
            candidate = Candidate(Kind.DISCOVERY, severity, f"discovery:@room_{n}",
                                  {"channel": f"@room_{n}"}, confidence=confidence)  # fmt: skip
        elif n % 2:
            candidate = Candidate(
                Kind.HASH_MATCH, severity, f"hash_match:{n}:{item_id}",
                {"bank": ("known", "other")[n % 4 // 2], "label": "x"}, confidence=confidence,
                item_id=item_id, source_id=source_id,
            )  # fmt: skip
        else:
            candidate = Candidate(
                Kind.KEYWORD, severity, f"keyword:rule_{n % 3}:{item_id}:{n}",
                {"rule": f"rule_{n % 3}", "hits": []}, confidence=confidence,
                item_id=item_id, source_id=source_id,
            )  # fmt: skip
        candidates[n % 3].append(candidate)
    with engine.begin() as conn:
        for hour, batch in enumerate(candidates):
            alert_store.raise_alerts(conn, batch, T0 + timedelta(hours=hour))
        # Seen again later: these move up among their priority.
        alert_store.raise_alerts(conn, candidates[0][::4], T0 + timedelta(hours=5))
        alerts = Alert.__table__
        for status, ids in (("dismissed", range(1, 91, 6)), ("in_review", range(2, 91, 7))):
            conn.execute(
                update(alerts).where(alerts.c.id.in_(list(ids)))
                .values(status=status, assignee="kim" if status == "in_review" else None)
            )  # fmt: skip


def _queue_order(engine: Engine) -> list[dict[str, Any]]:
    """Every alert with what the filters read, in queue order (sorted here, not by SQL)."""
    a, s = Alert.__table__.c, Source.__table__.c
    query = select(a.id, a.kind, a.severity, a.status, a.assignee, a.rule, a.bank, a.priority,
                   a.first_seen, a.last_seen, s.username, s.platform_id).outerjoin(
        Source.__table__, s.id == a.source_id)  # fmt: skip
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    return sorted(rows, key=lambda r: (-r["priority"], -r["last_seen"].timestamp(), -r["id"]))


def _matches(row: dict[str, Any], filters: QueueFilter) -> bool:
    for name in ("kind", "severity", "status", "assignee", "rule", "bank"):
        wanted = getattr(filters, name)
        if wanted is not None and row[name] != wanted:
            return False
    if filters.source is not None:
        name = filters.source.removeprefix("@")
        if (row["username"] or "").lower() != name.lower() and row["platform_id"] != name:
            return False
    if filters.since is not None and row["first_seen"] < filters.since:
        return False
    return filters.until is None or row["first_seen"] < filters.until


FILTERS = [
    QueueFilter(),
    QueueFilter(kind="keyword"),
    QueueFilter(kind="hash_match", severity="critical"),
    QueueFilter(status="new"),
    QueueFilter(status="dismissed"),
    QueueFilter(status="in_review", assignee="kim"),
    QueueFilter(rule="rule_0"),
    QueueFilter(rule="rule_2", status="new"),
    QueueFilter(bank="known"),
    QueueFilter(source="@EXAMPLE_NEWS"),  # a username, any case
    QueueFilter(source=OTHER.platform_id),  # a platform id
    QueueFilter(source="other_room", kind="hash_match", bank="other"),
    QueueFilter(since=T0 + timedelta(hours=1)),
    QueueFilter(until=T0 + timedelta(hours=2), severity="high"),
    QueueFilter(source="nobody"),
]


@pytest.mark.parametrize("page", [1, 7, 50])
def test_keyset_pages_return_every_alert_once_in_queue_order(engine: Engine, page: int) -> None:
    _fill_queue(engine)
    every = _queue_order(engine)
    assert len(every) == 90
    # Ties the id must break: alerts of one batch share priority and last_seen.
    assert len({(r["priority"], r["last_seen"]) for r in every}) < 30
    with engine.connect() as conn:
        for filters in FILTERS:
            expected = [r["id"] for r in every if _matches(r, filters)]
            found: list[int] = []
            after = None
            while True:
                rows = review_queries.review_queue(conn, filters, after=after, limit=page)
                assert len(rows) <= page
                found += [r["id"] for r in rows]
                if len(rows) < page:
                    break
                after = rows[-1]["id"]
            assert len(set(found)) == len(found), filters
            assert found == expected, filters


def test_a_queue_page_joins_its_item_and_source(engine: Engine) -> None:
    _fill_queue(engine)
    with engine.connect() as conn:
        rows = review_queries.review_queue(conn, QueueFilter(source="other_room"), limit=3)
        discovery = review_queries.review_queue(conn, QueueFilter(kind="discovery"), limit=1)
        listed = {a["id"]: a for a in alert_store.list_alerts(conn, limit=1000)}
    assert len(rows) == 3
    for row in rows:
        assert row["subject"]["source"] == "@Other_Room"
        assert row["source_title"] is None or isinstance(row["source_title"], str)
        assert row["subject"]["url"].startswith("https://t.me/Other_Room/")
        # The CLI's record of the same alert, plus the source's title.
        assert {k: v for k, v in row.items() if k != "source_title"} == listed[row["id"]]
    assert discovery[0]["subject"] == {"channel": discovery[0]["evidence"]["channel"]}
    assert discovery[0]["source_title"] is None


# ---------------------------------------------------------------- partial rule and bank indexes


@pytest.mark.parametrize(("filters", "column"), [
    (QueueFilter(rule="rule_0"), "rule"), (QueueFilter(bank="known"), "bank"),
])  # fmt: skip
def test_a_page_by_rule_or_bank_walks_an_index_of_only_the_alerts_that_have_one(
    engine: Engine, filters: QueueFilter, column: str
) -> None:
    """Migration 0013: a keyword alert has no bank and a hash alert no rule, so neither is
    written into the other's index; the queue's `rule = …` / `bank = …` still walks it."""
    index = f"ix_alert_{column}_queue"
    _fill_queue(engine)
    with statements_sent(engine) as sent, engine.connect() as conn:
        page = review_queries.review_queue(conn, filters, limit=5)
    assert [row["id"] for row in page] == [
        row["id"] for row in _queue_order(engine) if _matches(row, filters)
    ][:5]
    [(statement, params)] = sent
    found = plan(engine, statement, params)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT sql FROM sqlite_master WHERE name = :index"
        else:
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = :index"
        definition = conn.execute(text(query), {"index": index}).scalar_one()
    assert index in found, found
    assert re.search(rf"WHERE \(?{column} IS NOT NULL\)?$", definition), definition
