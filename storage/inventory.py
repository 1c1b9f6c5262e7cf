"""What a database holds, in counts: for summaries, and for deciding whether it may be wiped.

Only a database holding nothing but the named watchlists' data may be wiped (`chanwatch demo`
re-creates its own database on every run, and must never touch an operator's).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, inspect, select, text

from storage.models import (
    Alert,
    AuditLog,
    Base,
    HashBank,
    Item,
    Rule,
    Source,
    Target,
    User,
    Watchlist,
)
from storage.models.operations import AuditCheckpoint


@dataclass(frozen=True, slots=True)
class Contents:
    migrated: bool
    watchlists: frozenset[str]
    sources: int
    items: int
    banks: int
    rules: int
    alerts: int
    people: int
    """Users and audit rows: only an installation someone operates has them."""

    def holds_only(self, watchlist: str) -> bool:
        """True for a fresh or empty database, or one whose only watchlist is `watchlist`."""
        if not self.migrated:
            return True
        if self.people:
            return False
        if self.watchlists:
            return self.watchlists == {watchlist}
        return not (self.sources or self.items or self.banks or self.rules or self.alerts)


def contents(engine: Engine) -> Contents:
    with engine.connect() as conn:
        if not inspect(conn).has_table(Watchlist.__tablename__):
            return Contents(False, frozenset(), 0, 0, 0, 0, 0, 0)
        names = frozenset(conn.execute(select(Watchlist.name)).scalars())
        counts = (_count(conn, model) for model in (Source, Item, HashBank, Rule, Alert))
        people = _count(conn, User) + _count(conn, AuditLog)
        return Contents(True, names, *counts, people)


def _count(conn: Connection, model: type[Base]) -> int:
    return conn.execute(select(func.count()).select_from(model)).scalar_one()


@dataclass(frozen=True, slots=True)
class CollectionCounts:
    targets: int
    sources: int
    items: int
    versions: int
    deleted: int
    alerts_by_kind: dict[str, int]


def collection_counts(conn: Connection) -> CollectionCounts:
    """Targets, sources, items, extra versions (beyond each item's first), deleted items,
    and alerts per kind."""
    versions = conn.execute(
        select(func.coalesce(func.sum(Item.version_count - 1), 0))
    ).scalar_one()
    deleted = conn.execute(
        select(func.count()).select_from(Item).where(Item.deleted_at.is_not(None))
    ).scalar_one()
    by_kind = dict(conn.execute(select(Alert.kind, func.count()).group_by(Alert.kind)).all())
    return CollectionCounts(
        targets=_count(conn, Target),
        sources=_count(conn, Source),
        items=_count(conn, Item),
        versions=int(versions),
        deleted=deleted,
        alerts_by_kind=by_kind,
    )


def wipe(engine: Engine) -> None:
    """Empty every table of a PostgreSQL database, keeping its schema (SQLite files are
    simply deleted by their owner). The caller checked `contents(...).holds_only(...)`."""
    # item_fts is storage.search's own table, outside the ORM metadata. The audit tables are
    # append-only (their triggers refuse TRUNCATE) and empty here: `holds_only` saw to that.
    audit = {AuditLog.__tablename__, AuditCheckpoint.__tablename__}
    names = [t.name for t in Base.metadata.sorted_tables if t.name not in audit] + ["item_fts"]
    with engine.begin() as conn:
        tables = ", ".join(f'"{name}"' for name in names)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))


