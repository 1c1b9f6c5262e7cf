"""Substring search over item text, index-assisted for queries of three characters and more.

SQLite: an FTS5 trigram table (rowid = item id) that `catch_up` fills in batches off the ingest
path, because FTS5 inserts run at a fraction of ingest speed. What it has not covered yet is
known without a flag on every row: items above its highest rowid (new items arrive in id order)
and the few in `search_queue` (text changed after indexing). Queries scan exactly those too, so
results are never stale, only slower while the indexer lags. PostgreSQL: a pg_trgm GIN index
over item.text, maintained by the server itself.

Shorter queries cannot use trigrams on either backend and scan, which is still correct. (The
FTS5 `LIKE` path is avoided on purpose: SQLite 3.40 returned no rows for two-syllable Hangul.)
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, func, literal, select, text

from storage.models import Item, SearchQueue

MIN_INDEXED_CHARS = 3
_BATCH = 5000
_items = Item.__table__


def needs_indexer(conn: Connection) -> bool:
    """Whether new text must be queued for `catch_up` (only SQLite's index is maintained apart)."""
    return conn.dialect.name == "sqlite"


def register_sqlite_functions(dbapi_connection: sqlite3.Connection) -> None:
    # SQLite's lower() folds ASCII only; investigators search Hangul, Cyrillic and Latin alike.
    dbapi_connection.create_function("cw_contains", 2, _contains, deterministic=True)


def _contains(haystack: str | None, needle: str | None) -> bool:
    if haystack is None or needle is None:
        return False
    return needle.casefold() in haystack.casefold()


_WATERMARK = "SELECT coalesce(max(rowid), 0) FROM item_fts"
_QUEUE = SearchQueue.__table__


def catch_up(engine: Engine, batch: int = _BATCH) -> int:
    """Index everything pending on SQLite; returns how many items were indexed. No-op elsewhere."""
    if engine.dialect.name != "sqlite":
        return 0
    indexed = 0
    while True:
        with engine.begin() as conn:
            watermark = conn.exec_driver_sql(_WATERMARK).scalar_one()
            rows = conn.execute(
                select(_items.c.id, _items.c.text)
                .where(_items.c.id > watermark)
                .order_by(_items.c.id)
                .limit(batch)
            ).all()
            if not rows:
                # Queued edits above the watermark wait for the new-item pass: indexing them
                # first would raise the watermark over items not indexed yet.
                rows = conn.execute(
                    select(_items.c.id, _items.c.text)
                    .join(_QUEUE, _QUEUE.c.item_id == _items.c.id)
                    .where(_items.c.id <= watermark)
                    .limit(batch)
                ).all()
            if not rows:
                return indexed
            ids = [{"id": row.id} for row in rows]
            conn.exec_driver_sql("DELETE FROM item_fts WHERE rowid = :id", ids)
            conn.exec_driver_sql(
                "INSERT INTO item_fts(rowid, text) VALUES (:id, :text)",
                [{"id": row.id, "text": row.text} for row in rows],
            )
            conn.exec_driver_sql("DELETE FROM search_queue WHERE item_id = :id", ids)
            indexed += len(rows)


def text_condition(dialect: str, query: str) -> Any:
    """A WHERE condition on item: its text contains `query`, case-insensitively."""
    if dialect == "postgresql":
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return _items.c.text.ilike(f"%{escaped}%", escape="\\")
    contains = func.cw_contains(_items.c.text, literal(query))
    if len(query) < MIN_INDEXED_CHARS:
        return contains
    phrase = '"' + query.replace('"', '""') + '"'
    candidates = text(
        "SELECT rowid FROM item_fts WHERE item_fts MATCH :phrase "
        "UNION ALL SELECT id FROM item WHERE id > "
        "(SELECT coalesce(max(rowid), 0) FROM item_fts) "
        "UNION ALL SELECT item_id FROM search_queue"
    ).bindparams(phrase=phrase)
    return _items.c.id.in_(candidates) & contains
