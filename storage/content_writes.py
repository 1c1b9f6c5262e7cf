"""Set-based writes of what collectors saw. Callers pass plain rows; nothing here knows a collector.

Every statement covers a whole batch (insert … on conflict on both dialects); no ORM object is
created per row, which is what keeps ingest an order of magnitude faster than a commit per post.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from storage import bulk
from storage.models import (
    CrawlRun,
    Item,
    ItemVersion,
    Link,
    Media,
    SearchQueue,
    Source,
)
from storage.turns import sqlite_write_lock

_CHUNK = 500
_items = Item.__table__
_sources = Source.__table__
_media = Media.__table__


def dialect_insert(conn: Connection, table: Table) -> Insert:
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def chunks(rows: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


@dataclass(frozen=True, slots=True)
class ItemState:
    """An item as it was before the batch that just upserted it."""

    item_id: int
    existed: bool
    version_count: int
    sighting_hash: str | None
    """What this collector kind saw last; None when it never saw the item."""


def _sqlite_lookup(
    conn: Connection, columns: str, source_id: int, platform_ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows of `columns` for the given items of a source, straight from the driver: at ingest
    rates, building SQLAlchemy rows and expanding IN lists per batch is a visible cost."""
    found: list[tuple[Any, ...]] = []
    for part in chunks(platform_ids):
        marks = ",".join("?" * len(part))
        sql = f"SELECT {columns} FROM item WHERE source_id = ? AND platform_id IN ({marks})"  # noqa: S608
        found.extend(conn.exec_driver_sql(sql, (source_id, *part)).fetchall())
    return found


def _known_items(
    conn: Connection, source_id: int, platform_ids: Sequence[str]
) -> dict[str, tuple[int, int, dict[str, str] | None]]:
    """(id, version count, sightings) of the given items that exist (SQLite)."""
    rows = _sqlite_lookup(
        conn, "platform_id, id, version_count, sightings", source_id, platform_ids
    )
    return {pid: (item_id, count, json.loads(seen)) for pid, item_id, count, seen in rows}


@dataclass(frozen=True, slots=True)
class FirstVersion:
    """What an item row holds while it has one version (see crawler.ingest)."""

    item_id: int
    collector: str
    sightings: dict[str, str]
    text: str
    text_sha256: str
    collected_at: datetime
    edited_at: datetime | None
    media: list[dict[str, Any]]


def load_first_versions(conn: Connection, item_ids: Sequence[int]) -> list[FirstVersion]:
    if not item_ids:
        return []
    media: dict[int, list[dict[str, Any]]] = {item_id: [] for item_id in item_ids}
    query = select(
        _media.c.item_id, _media.c.ordinal, _media.c.kind, _media.c.file_id, _media.c.sha256
    ).where(_media.c.item_id.in_(list(item_ids)))
    for row in conn.execute(query).mappings():
        media[row["item_id"]].append(dict(row))
    items = conn.execute(
        select(
            _items.c.id, _items.c.collector, _items.c.sightings, _items.c.text,
            _items.c.text_sha256, _items.c.collected_at, _items.c.edited_at,
        ).where(_items.c.id.in_(list(item_ids)))
    )  # fmt: skip
    return [FirstVersion(*row, media=media[row[0]]) for row in items]


def _item_ids(conn: Connection, source_id: int, platform_ids: Sequence[str]) -> dict[str, int]:
    return dict(_sqlite_lookup(conn, "platform_id, id", source_id, platform_ids))


_SIGHTING_SQL = {
    "sqlite": "UPDATE item SET sightings = json_set(sightings, :path, :hash) WHERE id = :id",
    "postgresql": "UPDATE item SET sightings = sightings || jsonb_build_object("
    "CAST(%(collector)s AS text), CAST(%(hash)s AS text)) WHERE id = %(id)s",
}


def record_sightings(conn: Connection, rows: Sequence[tuple[int, str, str]]) -> None:
    """Remember (item id, collector kind, content hash) for items that already exist."""
    if rows:
        params = [
            {"id": item_id, "collector": kind, "path": f'$."{kind}"', "hash": digest}
            for item_id, kind, digest in rows
        ]
        conn.exec_driver_sql(_SIGHTING_SQL[conn.dialect.name], params)


def _counter(current: Any, excluded: Any, column: str, with_raw: bool) -> dict[str, Any]:
    """Take the incoming counter unless it is missing, or rounded where ours is exact."""
    exact = f"{column}_exact"
    keep = or_(excluded[column].is_(None), and_(current[exact], ~excluded[exact]))
    names = [column, exact, f"{column}_raw"] if with_raw else [column, exact]
    return {name: case((keep, current[name]), else_=excluded[name]) for name in names}


ITEM_COLUMNS = tuple(c.name for c in _items.c if c.name not in ("id", "deleted_at"))


@cache
def _item_upsert(dialect_name: str) -> Insert:
    stmt = bulk.insert_statement(dialect_name, _items, ITEM_COLUMNS)
    excluded, current = stmt.excluded, _items.c
    return stmt.on_conflict_do_update(
        index_elements=["source_id", "platform_id"],
        set_={
            **_counter(current, excluded, "views", with_raw=True),
            **_counter(current, excluded, "forwards", with_raw=False),
            "replies": func.coalesce(excluded.replies, current.replies),
            "reactions": func.coalesce(excluded.reactions, current.reactions),
            "edited": or_(current.edited, excluded.edited),
            "edited_at": func.coalesce(excluded.edited_at, current.edited_at),
            "last_seen_at": excluded.last_seen_at,
            "etag": func.coalesce(excluded.etag, current.etag),
            "last_modified": func.coalesce(excluded.last_modified, current.last_modified),
        },
    )


def upsert_items(
    conn: Connection, source_id: int, collector: str, rows: Sequence[dict[str, Any]]
) -> dict[str, ItemState]:
    """Insert new items of one source and refresh counters of known ones.

    Returns, per platform id, the item's state before this batch; `existed` is False only for
    rows this batch inserted, so concurrent batches of the same posts count each as new once.
    Rows carry every column of ITEM_COLUMNS. Text and versions of known items are not touched
    here: only a changed sighting may change them.
    """
    if not rows:
        return {}
    statement = _item_upsert(conn.dialect.name)
    if conn.dialect.name == "postgresql":
        # One round trip: RETURNING shows the untouched columns as they were, and xmax = 0
        # marks rows this statement inserted.
        returned = bulk.executemany(
            conn, statement, _items, rows,
            returning="platform_id, id, version_count, sightings, (xmax = 0)",
        )  # fmt: skip
        return {
            pid: ItemState(item_id, not inserted, count, (seen or {}).get(collector))
            if not inserted
            else ItemState(item_id, False, 1, None)
            for pid, item_id, count, seen, inserted in returned
        }
    # SQLite cannot return rows from a batch, so "new" is "absent before the upsert", read in
    # the upsert's own transaction once it holds the write lock. pysqlite runs reads before a
    # transaction's first write outside it: read there, two concurrent batches of the same
    # posts both found them absent and both counted them new (600 + 1,000 for 1,000 items).
    sqlite_write_lock(conn)
    platform_ids = [row["platform_id"] for row in rows]
    before = _known_items(conn, source_id, platform_ids)
    bulk.executemany(conn, statement, _items, rows)
    new_ids = _item_ids(conn, source_id, [pid for pid in platform_ids if pid not in before])
    states = {pid: ItemState(item_id, False, 1, None) for pid, item_id in new_ids.items()}
    for pid, (item_id, count, seen) in before.items():
        states[pid] = ItemState(item_id, True, count, (seen or {}).get(collector))
    return states


def apply_new_content(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Changed sightings: the item now shows the new text; search must index it again."""
    if not rows:
        return
    conn.execute(
        update(_items)
        .where(_items.c.id == bindparam("b_id"))
        .values(
            text=bindparam("b_text"),
            text_sha256=bindparam("b_sha"),
            title=bindparam("b_title"),
            version_count=bindparam("b_versions"),
        ),
        list(rows),
    )
    queue = SearchQueue.__table__
    stmt = _insert_ignoring(conn.dialect.name, queue, ("item_id",))
    bulk.executemany(conn, stmt, queue, [{"item_id": row["b_id"]} for row in rows])


def _columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.c if c is not table.autoincrement_column)


@cache
def _plain_insert(dialect_name: str, table: Table) -> Insert:
    return bulk.insert_statement(dialect_name, table, _columns(table))


@cache
def _insert_ignoring(dialect_name: str, table: Table, keys: tuple[str, ...]) -> Insert:
    stmt = bulk.insert_statement(dialect_name, table, _columns(table))
    return stmt.on_conflict_do_nothing(index_elements=list(keys))


@cache
def _upsert(dialect_name: str, table: Table, keys: tuple[str, ...]) -> Insert:
    stmt = bulk.insert_statement(dialect_name, table, _columns(table))
    updated = [name for name in _columns(table) if name not in keys]
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={name: stmt.excluded[name] for name in updated}
    )


def insert_versions(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    table = ItemVersion.__table__
    bulk.executemany(conn, _plain_insert(conn.dialect.name, table), table, rows)


def drop_media_beyond(conn: Connection, counts: Sequence[tuple[int, int]]) -> None:
    """A new version with fewer media: rows past its count describe the old version only."""
    if counts:
        conn.execute(
            delete(_media).where(
                _media.c.item_id == bindparam("b_item"), _media.c.ordinal >= bindparam("b_count")
            ),
            [{"b_item": item_id, "b_count": count} for item_id, count in counts],
        )


def upsert_media(conn: Connection, rows: Sequence[dict[str, Any]], *, overwrite: bool) -> None:
    """Media rows per (item, ordinal); without `overwrite` only missing rows are added."""
    keys = ("item_id", "ordinal")
    make = _upsert if overwrite else _insert_ignoring
    bulk.executemany(conn, make(conn.dialect.name, _media, keys), _media, rows)


def insert_links(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    table = Link.__table__
    stmt = _insert_ignoring(conn.dialect.name, table, ("item_id", "url", "kind"))
    bulk.executemany(conn, stmt, table, rows)


def mark_items_gone(
    conn: Connection, source_id: int, platform_ids: Sequence[str], at: datetime
) -> int:
    gone = 0
    for part in chunks(platform_ids):
        result = conn.execute(
            update(_items)
            .where(
                _items.c.source_id == source_id,
                _items.c.platform_id.in_(part),
                _items.c.deleted_at.is_(None),
            )
            .values(deleted_at=at)
        )
        gone += result.rowcount
    return gone


def add_run_counts(conn: Connection, crawl_run_id: int, counts: dict[str, int]) -> None:
    table = CrawlRun.__table__
    conn.execute(
        update(table)
        .where(table.c.id == crawl_run_id)
        .values({name: table.c[name] + value for name, value in counts.items()})
    )
