"""What a database holds, in counts: for summaries, and for deciding whether it may be wiped.

Only a database holding nothing but the named watchlists' data may be wiped (`chanwatch demo`
re-creates its own database on every run, and must never touch an operator's).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, inspect, select, text

from storage.models import Alert, Base, HashBank, Item, Rule, Source, Target, Watchlist


@dataclass(frozen=True, slots=True)
class Contents:
    migrated: bool
    watchlists: frozenset[str]
    sources: int
    items: int
    banks: int
    rules: int
    alerts: int

    def holds_only(self, watchlist: str) -> bool:
        """True for a fresh or empty database, or one whose only watchlist is `watchlist`."""
        if not self.migrated:
            return True
        if self.watchlists:
            return self.watchlists == {watchlist}
        return not (self.sources or self.items or self.banks or self.rules or self.alerts)


def contents(engine: Engine) -> Contents:
    with engine.connect() as conn:
        if not inspect(conn).has_table(Watchlist.__tablename__):
            return Contents(False, frozenset(), 0, 0, 0, 0, 0)
        names = frozenset(conn.execute(select(Watchlist.name)).scalars())
        return Contents(
            True, names, *(_count(conn, model) for model in (Source, Item, HashBank, Rule, Alert))
        )


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
    # item_fts is storage.search's own table, outside the ORM metadata.
    names = [table.name for table in Base.metadata.sorted_tables] + ["item_fts"]
    with engine.begin() as conn:
        tables = ", ".join(f'"{name}"' for name in names)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))


