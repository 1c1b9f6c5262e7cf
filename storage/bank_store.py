"""Hash banks and keyword rules as stored: the narrow interface the importers, the CLI and
the matchers use. Every change bumps a `matching_version` counter in the same transaction, so
running matchers notice it with one primary-key read per batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, and_, func, select, tuple_, update
from sqlalchemy.sql.dml import Insert

from storage import bulk
from storage.content_writes import chunks, dialect_insert
from storage.models import BankEntry, HashBank, MatchingVersion, Rule

_banks, _entries = HashBank.__table__, BankEntry.__table__
_versions, _rules = MatchingVersion.__table__, Rule.__table__

BANKS, RULES = "banks", "rules"


class BankConflict(ValueError):
    """The import asks for a bank that exists with a different polarity."""


@dataclass(frozen=True, slots=True)
class BankRow:
    id: int
    name: str
    negative: bool
    threshold: int
    severity: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class ImportCounts:
    added: int
    withdrawn: int


def bump_version(conn: Connection, name: str) -> int:
    stmt = dialect_insert(conn, _versions).values(name=name, version=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={"version": _versions.c.version + 1}
    ).returning(_versions.c.version)
    return int(conn.execute(stmt).scalar_one())


def read_version(conn: Connection, name: str) -> int:
    found = conn.execute(select(_versions.c.version).where(_versions.c.name == name)).scalar()
    return int(found or 0)


def ensure_bank(
    conn: Connection,
    name: str,
    *,
    negative: bool,
    threshold: int | None,
    severity: str | None,
    at: datetime,
) -> int:
    """The id of bank `name`, created if missing; given options update an existing bank."""
    row = conn.execute(
        select(_banks.c.id, _banks.c.negative).where(_banks.c.name == name)
    ).one_or_none()
    values: dict[str, Any] = {}
    if threshold is not None:
        values["pdq_threshold"] = threshold
    if severity is not None:
        values["severity"] = severity
    if row is None:
        return int(
            conn.execute(
                _banks.insert()
                .values(name=name, negative=negative, enabled=True, created_at=at, **values)
                .returning(_banks.c.id)
            ).scalar_one()
        )
    if bool(row.negative) != negative:
        polarity = "negative" if row.negative else "positive"
        raise BankConflict(f"bank {name!r} exists as a {polarity} bank")
    if values:
        conn.execute(update(_banks).where(_banks.c.id == row.id).values(**values))
        _touch_bank_entries(conn, row.id)
    return int(row.id)


def bank_polarity(conn: Connection, name: str) -> bool | None:
    """Whether bank `name` is negative (True) or positive (False); None when there is none."""
    negative = conn.execute(
        select(_banks.c.negative).where(_banks.c.name == name)
    ).scalar_one_or_none()
    return None if negative is None else bool(negative)


@cache
def _entry_upsert(dialect_name: str) -> Insert:
    columns = ("bank_id", "signal_type", "value", "label", "status", "revision", "added_at",
               "updated_at")  # fmt: skip
    stmt = bulk.insert_statement(dialect_name, _entries, columns)
    return stmt.on_conflict_do_update(
        index_elements=["bank_id", "signal_type", "value"],
        set_={
            "label": func.coalesce(stmt.excluded.label, _entries.c.label),
            "status": stmt.excluded.status,
            "revision": stmt.excluded.revision,
            "updated_at": stmt.excluded.updated_at,
        },
    )


def import_entries(
    conn: Connection, bank_id: int, records: Sequence[Any], at: datetime
) -> ImportCounts:
    """Upsert active records and mark withdrawn ones; one transaction, the caller's."""
    revision = bump_version(conn, BANKS)
    latest: dict[tuple[str, str], Any] = {}
    for record in records:  # a later line about the same hash wins
        latest[str(record.signal_type), record.value] = record
    active = [r for r in latest.values() if not r.withdrawn]
    withdrawn = [(str(r.signal_type), r.value) for r in latest.values() if r.withdrawn]
    if active:
        # Driver-level batch (COPY on PostgreSQL): a hotline's list runs to millions of hashes.
        bulk.executemany(
            conn, _entry_upsert(conn.dialect.name), _entries,
            [
                {"bank_id": bank_id, "signal_type": str(r.signal_type), "value": r.value,
                 "label": r.label, "status": "active", "revision": revision,
                 "added_at": at, "updated_at": at}
                for r in active
            ],
        )  # fmt: skip
    removed = 0
    for part in chunks(withdrawn, 500):
        removed += conn.execute(
            update(_entries)
            .where(
                and_(
                    _entries.c.bank_id == bank_id,
                    tuple_(_entries.c.signal_type, _entries.c.value).in_(part),
                    _entries.c.status == "active",
                )
            )
            .values(status="withdrawn", revision=revision, updated_at=at)
        ).rowcount
    return ImportCounts(added=len(active), withdrawn=removed)


def set_bank_enabled(conn: Connection, name: str, enabled: bool) -> bool:
    bank_id = conn.execute(select(_banks.c.id).where(_banks.c.name == name)).scalar()
    if bank_id is None:
        return False
    conn.execute(update(_banks).where(_banks.c.id == bank_id).values(enabled=enabled))
    _touch_bank_entries(conn, bank_id)
    return True


def _touch_bank_entries(conn: Connection, bank_id: int) -> None:
    # A bank-level change (enabled, threshold) reaches the matchers as a change of its rows.
    revision = bump_version(conn, BANKS)
    conn.execute(update(_entries).where(_entries.c.bank_id == bank_id).values(revision=revision))


def banks_by_id(conn: Connection) -> dict[int, BankRow]:
    query = select(
        _banks.c.id, _banks.c.name, _banks.c.negative, _banks.c.pdq_threshold, _banks.c.severity,
        _banks.c.enabled,
    )  # fmt: skip
    return {
        row.id: BankRow(row.id, row.name, bool(row.negative), row.pdq_threshold, row.severity,
                        bool(row.enabled))
        for row in conn.execute(query)
    }  # fmt: skip


EntryChange = tuple[int, int, str, str, str, str | None]
"""(id, bank_id, status, signal_type, value, label) of a bank entry."""


def entries_since(conn: Connection, revision: int) -> Sequence[EntryChange]:
    """Entries changed after ``revision`` (all of them from 0), as plain tuples: a first load
    reads every entry of every bank, a million rows where hotlines share large lists, and the
    bank-level fields come once per bank from ``banks_by_id`` instead of once per row."""
    query = select(
        _entries.c.id, _entries.c.bank_id, _entries.c.status, _entries.c.signal_type,
        _entries.c.value, _entries.c.label,
    ).where(_entries.c.revision > revision)  # fmt: skip
    return conn.execute(query).tuples().all()  # type: ignore[return-value]


def list_banks(conn: Connection) -> list[dict[str, Any]]:
    counts = (
        select(
            _entries.c.bank_id,
            func.count().filter(_entries.c.status == "active").label("active"),
            func.count().filter(_entries.c.status == "withdrawn").label("withdrawn"),
        )
        .group_by(_entries.c.bank_id)
        .subquery()
    )
    query = (
        select(_banks, counts.c.active, counts.c.withdrawn)
        .outerjoin(counts, counts.c.bank_id == _banks.c.id)
        .order_by(_banks.c.name)
    )
    return [
        {
            "name": row.name, "negative": bool(row.negative), "enabled": bool(row.enabled),
            "pdq_threshold": row.pdq_threshold, "severity": row.severity,
            "active": int(row.active or 0), "withdrawn": int(row.withdrawn or 0),
        }
        for row in conn.execute(query)
    ]  # fmt: skip


def upsert_rules(conn: Connection, rules: Sequence[dict[str, Any]], at: datetime) -> int:
    """Insert or replace rules by name (enabled again if they were disabled)."""
    if not rules:
        return 0
    bump_version(conn, RULES)
    stmt = dialect_insert(conn, _rules).values(
        [{**rule, "enabled": True, "updated_at": at} for rule in rules]
    )
    columns = (
        "terms", "regexes", "allowlist", "language", "severity", "slip", "enabled", "updated_at"
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"], set_={c: getattr(stmt.excluded, c) for c in columns}
        )
    )
    return len(rules)


def load_rules(conn: Connection, *, enabled_only: bool = True) -> list[dict[str, Any]]:
    query = select(_rules).order_by(_rules.c.name)
    if enabled_only:
        query = query.where(_rules.c.enabled.is_(True))
    return [dict(row._mapping) for row in conn.execute(query)]
