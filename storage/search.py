"""Substring search over item text, index-assisted for queries of three characters and more.

The index is a table `item_fts` keyed by rowid = item id: FTS5 trigrams on SQLite, a pg_trgm
GIN index on PostgreSQL. `catch_up` fills it in batches off the ingest path, because its
inserts cost more than the rest of ingest together. What it has not covered yet is known
without a flag on every row: items above its highest rowid (new items arrive in id order) and
the few in `search_queue` (text changed after indexing). Queries scan exactly those as well, so
results are never stale — only slower while the indexer lags.

Shorter queries cannot use trigrams on either backend and scan, which is still correct. (The
FTS5 `LIKE` path is avoided on purpose: SQLite 3.40 returned no rows for two-syllable Hangul.)
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, func, literal, text

from storage.models import Item

MIN_INDEXED_CHARS = 3
_BATCH = 20_000
_items = Item.__table__
# Everything above the index's highest rowid, and queued edits, is not indexed yet.
_PENDING = (
    "SELECT id FROM item WHERE id > (SELECT coalesce(max(rowid), 0) FROM item_fts) "
    "UNION ALL SELECT item_id FROM search_queue"
)
_INDEX_NEW = text(
    "INSERT INTO item_fts (rowid, text) SELECT id, text FROM item "
    "WHERE id > (SELECT coalesce(max(rowid), 0) FROM item_fts) ORDER BY id LIMIT :batch"
)
_WATERMARK = text("SELECT coalesce(max(rowid), 0) FROM item_fts")
# Edits above the watermark wait for the new-item pass, which covers them in id order.
_UNINDEX_EDITED = text(
    "DELETE FROM item_fts WHERE rowid IN "
    "(SELECT item_id FROM search_queue WHERE item_id <= :watermark)"
)
_INDEX_EDITED = text(
    "INSERT INTO item_fts (rowid, text) SELECT id, text FROM item "
    "WHERE id IN (SELECT item_id FROM search_queue WHERE item_id <= :watermark)"
)
_DEQUEUE_EDITED = text("DELETE FROM search_queue WHERE item_id <= :watermark")


def register_sqlite_functions(dbapi_connection: sqlite3.Connection) -> None:
    # SQLite's lower() folds ASCII only; investigators search Hangul, Cyrillic and Latin alike.
    dbapi_connection.create_function("cw_contains", 2, _contains, deterministic=True)


def _contains(haystack: str | None, needle: str | None) -> bool:
    if haystack is None or needle is None:
        return False
    return needle.casefold() in haystack.casefold()


def catch_up(engine: Engine, batch: int = _BATCH) -> int:
    """Index everything pending; returns how many items were (re)indexed."""
    indexed = 0
    while True:
        with engine.begin() as conn:
            # New items first, in id order, so the watermark only ever covers indexed rows.
            added = conn.execute(_INDEX_NEW, {"batch": batch}).rowcount
            if added:
                indexed += added
                continue
            # Read once: unindexing an edit of the highest indexed row would lower it and
            # leave that edit queued, unindexed, for a later pass.
            covered = {"watermark": conn.execute(_WATERMARK).scalar_one()}
            conn.execute(_UNINDEX_EDITED, covered)
            indexed += conn.execute(_INDEX_EDITED, covered).rowcount
            conn.execute(_DEQUEUE_EDITED, covered)
            return indexed


def text_condition(dialect: str, query: str) -> Any:
    """A WHERE condition on item: its text contains `query`, case-insensitively."""
    if dialect == "postgresql":
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        contains = _items.c.text.ilike(f"%{escaped}%", escape="\\")
        indexed = "SELECT rowid FROM item_fts WHERE text ILIKE :pattern ESCAPE '\\'"
        params = {"pattern": f"%{escaped}%"}
    else:
        contains = func.cw_contains(_items.c.text, literal(query))
        indexed = "SELECT rowid FROM item_fts WHERE item_fts MATCH :pattern"
        params = {"pattern": '"' + query.replace('"', '""') + '"'}
    if len(query) < MIN_INDEXED_CHARS:
        return contains
    candidates = text(indexed + " UNION ALL " + _PENDING).bindparams(**params)
    return _items.c.id.in_(candidates) & contains
