"""Substring search over item text, index-assisted for queries of three characters and more.

SQLite: an FTS5 trigram table that `catch_up` fills in batches off the ingest path (FTS5
inserts run at a quarter of ingest speed). Items not yet indexed carry `search_pending`, and a
query scans exactly those too, so results are never stale — only slower while the indexer lags.
PostgreSQL: a pg_trgm GIN index over item.text, maintained by the server itself.

Shorter queries cannot use trigrams on either backend and scan, which is still correct. (The
FTS5 `LIKE` path is avoided on purpose: SQLite 3.40 returned no rows for two-syllable Hangul.)
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, literal, select, text, update

from storage.models import Item

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


def catch_up(engine: Engine, batch: int = _BATCH) -> int:
    """Index every pending item on SQLite; returns how many were indexed. No-op elsewhere."""
    if engine.dialect.name != "sqlite":
        return 0
    indexed = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(_items.c.id, _items.c.text, _items.c.text_sha256)
                .where(_items.c.search_pending)
                .limit(batch)
            ).all()
            if not rows:
                return indexed
            ids = [row.id for row in rows]
            conn.execute(text("DELETE FROM item_fts WHERE rowid IN :ids").bindparams(
                bindparam("ids", expanding=True)), {"ids": ids})  # fmt: skip
            conn.execute(
                text("INSERT INTO item_fts(rowid, text) VALUES (:id, :text)"),
                [{"id": row.id, "text": row.text} for row in rows],
            )
            # Only rows whose text is still what was indexed: a concurrent edit stays pending.
            conn.execute(
                update(_items)
                .where(_items.c.id == bindparam("b_id"), _items.c.text_sha256 == bindparam("b_sha"))
                .values(search_pending=False),
                [{"b_id": row.id, "b_sha": row.text_sha256} for row in rows],
            )
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
        "UNION ALL SELECT id FROM item WHERE search_pending"
    ).bindparams(phrase=phrase)
    return _items.c.id.in_(candidates) & contains
