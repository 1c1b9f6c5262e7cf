"""Alerts, their append-only history and the notification outbox: the narrow interface the
matchers, the review workflow, the notifier and the CLI use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    String,
    and_,
    any_,
    bindparam,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select, Subquery
from sqlalchemy.sql.dml import Insert

from storage import bulk
from storage.content_writes import chunks, dialect_insert
from storage.item_queries import iso, source_name
from storage.models import Alert, AlertEvent, Item, NotifyOutbox, Source
from storage.turns import sqlite_write_lock

_alerts, _events, _outbox = Alert.__table__, AlertEvent.__table__, NotifyOutbox.__table__
_items, _sources = Item.__table__, Source.__table__
SYSTEM_ACTOR = "chanwatch"


class AlertCandidate(Protocol):
    kind: str
    severity: str
    dedupe_key: str
    evidence: dict[str, Any]
    item_id: int | None
    source_id: int | None
    refresh_evidence: bool

    @property
    def priority(self) -> float: ...


@dataclass(frozen=True, slots=True)
class NewAlert:
    id: int
    kind: str
    severity: str
    dedupe_key: str


def raise_alerts(
    conn: Connection, candidates: Sequence[AlertCandidate], at: datetime
) -> list[NewAlert]:
    """Insert new alerts; a dedupe key already stored gets hit_count + 1 and last_seen instead
    (and the candidate's evidence when it has `refresh_evidence`). Of several candidates with
    one dedupe key, the highest priority one counts.

    Status is never touched here, so a dismissed alert stays dismissed while its hits count.
    Returns the alerts that are new (each with a `raised` event), in the candidates' order.

    Set-based through `storage.bulk` (a rescan raises ten thousand at once; ingest a batch's):
    SQLAlchemy's executemany with RETURNING cost more than the database's work.
    """
    return _raise(conn, _best_per_key(candidates), at, absent_only=False)


def raise_absent(
    conn: Connection, candidates: Sequence[AlertCandidate], at: datetime
) -> tuple[list[NewAlert], set[str]]:
    """Insert the candidates whose dedupe key has no alert yet and leave the alerts that
    exist as they are (a retro-hunt: seeing stored content again is not a new hit). Returns
    the new alerts, as ``raise_alerts`` does, and the keys that already had one."""
    unique = _best_per_key(candidates)
    new = _raise(conn, unique, at, absent_only=True)
    return new, set(unique) - {alert.dedupe_key for alert in new}


def _best_per_key(
    candidates: Sequence[AlertCandidate],
) -> dict[str, tuple[float, AlertCandidate]]:
    unique: dict[str, tuple[float, AlertCandidate]] = {}
    for candidate in candidates:
        rank = candidate.priority
        kept = unique.get(candidate.dedupe_key)
        if kept is None or rank > kept[0]:
            unique[candidate.dedupe_key] = (rank, candidate)
    return unique


def _raise(
    conn: Connection,
    unique: dict[str, tuple[float, AlertCandidate]],
    at: datetime,
    absent_only: bool,
) -> list[NewAlert]:
    if not unique:
        return []
    groups: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for rank, candidate in unique.values():
        groups[bool(candidate.refresh_evidence)].append(_row(candidate, rank, at))
    dialect = conn.dialect.name
    if dialect == "postgresql":
        ids: dict[str, int] = {}
        new_keys: set[str] = set()
        for refresh, rows in groups.items():
            # xmax = 0 marks the rows this statement inserted rather than updated; the same
            # statement writes their `raised` events.
            for alert_id, key, inserted in bulk.executemany(
                conn, _write(dialect, refresh, absent_only), _alerts, rows,
                returning="id, dedupe_key, (xmax = 0) AS inserted", then=_RAISED_EVENTS,
                params={"at": at, "actor": SYSTEM_ACTOR},
            ):  # fmt: skip
                ids[key] = alert_id
                if inserted:
                    new_keys.add(key)
        return _new_alerts(unique, ids, new_keys)
    # SQLite's batches return no rows: "new" is "absent before the write", read once this
    # transaction holds the write lock so a concurrent batch cannot raise the same key in
    # between (both would count it new).
    sqlite_write_lock(conn)
    existing = existing_keys(conn, list(unique))
    for refresh, rows in groups.items():
        if absent_only:
            rows = [row for row in rows if row["dedupe_key"] not in existing]
        bulk.executemany(conn, _write(dialect, refresh, absent_only), _alerts, rows)
    ids = _alert_ids(conn, [key for key in unique if key not in existing])
    new = _new_alerts(unique, ids, set(ids))
    bulk.insert_rows(conn, _events, [
        {"alert_id": a.id, "at": at, "actor": SYSTEM_ACTOR, "action": "raised",
         "from_status": None, "to_status": "new", "reason": None}
        for a in new
    ])  # fmt: skip
    return new


def _new_alerts(
    unique: dict[str, tuple[float, AlertCandidate]], ids: dict[str, int], new_keys: set[str]
) -> list[NewAlert]:
    return [
        NewAlert(ids[key], str(candidate.kind), candidate.severity, key)
        for key, (_rank, candidate) in unique.items()
        if key in new_keys
    ]


_ALERT_COLUMNS = (
    "kind", "severity", "priority", "status", "dedupe_key", "item_id", "source_id", "evidence",
    "rule", "bank", "hit_count", "first_seen", "last_seen",
)  # fmt: skip
_RAISED_EVENTS = (
    "INSERT INTO alert_event (alert_id, at, actor, action, to_status) "
    "SELECT id, %(at)s, %(actor)s, 'raised', 'new' FROM written WHERE inserted"
)
"""The `raised` event of each alert the PostgreSQL upsert inserted (``bulk.executemany``)."""


@cache
def _write(dialect_name: str, refresh: bool, absent_only: bool) -> Insert:
    """The alert insert, with no bound values outside the rows' own (bulk.py reads the rows
    from a staging table on PostgreSQL). A key already stored is left alone when
    `absent_only`; otherwise the repeat counts a hit and moves last_seen (the row's, which is
    the call's `at`), and with `refresh` replaces the evidence."""
    stmt = bulk.insert_statement(dialect_name, _alerts, _ALERT_COLUMNS)
    if absent_only:
        return stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    changes: dict[str, Any] = {
        "hit_count": _alerts.c.hit_count + literal_column("1"),
        "last_seen": stmt.excluded.last_seen,
    }
    if refresh:
        changes["evidence"] = stmt.excluded.evidence
    return stmt.on_conflict_do_update(index_elements=["dedupe_key"], set_=changes)


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    """The dedupe keys among these that an alert already has."""
    if conn.dialect.name == "postgresql":
        # One array parameter: IN lists of 500 binds took ~5 ms a query.
        return set(conn.execute(_EXISTING_PG, {"keys": list(keys)}).scalars())
    found: set[str] = set()
    for part in chunks(keys, 500):
        query = select(_alerts.c.dedupe_key).where(_alerts.c.dedupe_key.in_(part))
        found.update(conn.execute(query).scalars())
    return found


_EXISTING_PG = select(_alerts.c.dedupe_key).where(
    _alerts.c.dedupe_key == any_(bindparam("keys", type_=postgresql.ARRAY(String)))
)


def _alert_ids(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(keys, 500):
        query = select(_alerts.c.dedupe_key, _alerts.c.id).where(_alerts.c.dedupe_key.in_(part))
        found.update(conn.execute(query).tuples().all())
    return found


def _named(evidence: dict[str, Any], key: str) -> str | None:
    value = evidence.get(key)
    return value[:100] if isinstance(value, str) else None


def named_columns(evidence: dict[str, Any]) -> dict[str, str | None]:
    """The `rule` and `bank` columns an alert with this evidence gets (what the queue filters
    on; migration 0011 backfills them the same way)."""
    return {"rule": _named(evidence, "rule"), "bank": _named(evidence, "bank")}


def _row(candidate: AlertCandidate, rank: float, at: datetime) -> dict[str, Any]:
    evidence = candidate.evidence
    return {
        "kind": str(candidate.kind), "severity": candidate.severity,
        "priority": rank, "status": "new", "dedupe_key": candidate.dedupe_key,
        "item_id": candidate.item_id, "source_id": candidate.source_id, "evidence": evidence,
        **named_columns(evidence), "hit_count": 1, "first_seen": at, "last_seen": at,
    }  # fmt: skip


def add_events(conn: Connection, events: Sequence[dict[str, Any]]) -> None:
    if events:
        conn.execute(_events.insert(), list(events))


def lock_alert(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    """The alert's row, locked for the rest of the transaction where the database can."""
    query = select(_alerts).where(_alerts.c.id == alert_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    return None if row is None else dict(row._mapping)


def update_alert(conn: Connection, alert_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(_alerts).where(_alerts.c.id == alert_id).values(**values))


def list_alerts(
    conn: Connection,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    alert_id: int | None = None,
) -> list[dict[str, Any]]:
    """Alerts in the documented JSON contract, highest priority first, then newest."""
    query = listing().order_by(*QUEUE_ORDER).limit(limit)
    if status is not None:
        query = query.where(_alerts.c.status == status)
    if kind is not None:
        query = query.where(_alerts.c.kind == kind)
    if alert_id is not None:
        query = query.where(_alerts.c.id == alert_id)
    return [record(row) for row in conn.execute(query)]


QUEUE_ORDER = (_alerts.c.priority.desc(), _alerts.c.last_seen.desc(), _alerts.c.id.desc())
"""Highest priority first, then newest: the CLI's listing and the review queue (the
`ix_alert_*queue` indexes hold it, migration 0011)."""


def listing(*columns: Any, ids: Subquery | None = None) -> Select[Any]:
    """Alerts with what `record` needs of their item and source (plus `columns`), unordered;
    with `ids` (a subquery of alert ids), those alerts only, the subquery driving the join."""
    alerts: Any = _alerts if ids is None else ids.join(_alerts, _alerts.c.id == ids.c.id)
    return select(
        _alerts, _items.c.platform_id.label("item_pid"), _items.c.url.label("item_url"),
        _sources.c.platform, _sources.c.platform_id.label("source_pid"), _sources.c.username,
        *columns,
    ).select_from(
        alerts.outerjoin(_items, _items.c.id == _alerts.c.item_id)
        .outerjoin(_sources, _sources.c.id == _alerts.c.source_id)
    )  # fmt: skip


def record(row: Any) -> dict[str, Any]:
    """A `listing` row in the documented JSON contract."""
    return {
        "id": row.id, "kind": row.kind, "severity": row.severity, "priority": row.priority,
        "status": row.status, "subject": _subject(row), "evidence": row.evidence,
        "hit_count": row.hit_count, "first_seen": iso(row.first_seen),
        "last_seen": iso(row.last_seen), "assignee": row.assignee,
    }  # fmt: skip


def _subject(row: Any) -> dict[str, Any]:
    subject: dict[str, Any] = {}
    if row.source_id is not None and row.platform is not None:
        subject["source"] = source_name(row.platform, row.source_pid, row.username)
        subject["source_id"] = row.source_id
    if row.item_id is not None:
        subject.update(item_id=row.item_id, platform_id=row.item_pid, url=row.item_url)
    if "channel" in (row.evidence or {}):
        subject["channel"] = row.evidence["channel"]
    return subject


def alert_detail(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    found = list_alerts(conn, alert_id=alert_id, limit=1)
    if not found:
        return None
    record = found[0]
    lease = conn.execute(select(_alerts.c.lease_until).where(_alerts.c.id == alert_id)).scalar()
    record["lease_until"] = iso(lease)
    if record["subject"].get("item_id") is not None:
        record["item_text"] = conn.execute(
            select(_items.c.text).where(_items.c.id == record["subject"]["item_id"])
        ).scalar()
    record["events"] = [
        {"at": iso(e.at), "actor": e.actor, "action": e.action, "from": e.from_status,
         "to": e.to_status, "reason": e.reason}
        for e in conn.execute(
            select(_events).where(_events.c.alert_id == alert_id).order_by(_events.c.id)
        )
    ]  # fmt: skip
    return record


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue notifications; a (alert, destination) pair already queued is left alone."""
    if rows:
        stmt = dialect_insert(conn, _outbox).on_conflict_do_nothing(
            index_elements=["alert_id", "destination"]
        )
        conn.execute(stmt, list(rows))


def due_notifications(conn: Connection, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    query = (
        select(_outbox)
        .where(and_(_outbox.c.delivered_at.is_(None), _outbox.c.next_attempt_at <= now))
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def record_delivery(
    conn: Connection,
    outbox_id: int,
    *,
    delivered_at: datetime | None,
    attempts: int,
    next_attempt_at: datetime,
    error: str | None,
) -> None:
    conn.execute(
        update(_outbox)
        .where(_outbox.c.id == outbox_id)
        .values(
            delivered_at=delivered_at,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            last_error=error,
        )
    )
