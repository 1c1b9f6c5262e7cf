"""Substring search over item text, index-assisted for queries of three characters and more.

The index is a table `item_fts` keyed by rowid = item id: FTS5 trigrams on SQLite, a pg_trgm
GIN index on PostgreSQL. `catch_up` fills it in batches off the ingest path, because its
inserts cost more than the rest of ingest together. What it has not covered yet is known
without a flag on every row: items above its highest rowid (new items arrive in id order) and
the few in `search_queue` (text changed after indexing). Queries scan exactly those as well, so
results are never stale — only slower while the indexer lags.

Search sees the *searchable form* of a text: the text without the invisible characters rooms
hide inside words (storage.invisible, the set the keyword matchers drop too), so 겹지인 finds
겹<U+200B>지인방. The index holds that form, the scan and the re-check compute it, and the query
is folded the same way. The item's own text stays exactly as collected: it is the evidence.

Shorter queries cannot use trigrams on either backend and scan, which is still correct. (The
FTS5 `LIKE` path is avoided on purpose: SQLite 3.40 returned no rows for two-syllable Hangul.)
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, false, func, literal, text

from storage.invisible import INVISIBLE_CLASS, without_invisible
from storage.models import Item

MIN_INDEXED_CHARS = 3  # FTS5 trigrams match nothing shorter
_BATCH = 20_000
_items = Item.__table__
# Everything above the index's highest rowid, and queued edits, is pending: not indexed yet.
# On SQLite, FTS5 hits are candidates, re-checked with the pending items (FTS5 folds case its
# own way). On PostgreSQL, ILIKE on item_fts, which holds the searchable form, is the answer
# for indexed items (through the trigram index from three characters, else a scan that folds
# nothing); only pending items, queued edits among them (their index row is stale), are
# folded as they are scanned.
_SQLITE_CANDIDATES = text(
    "SELECT rowid FROM item_fts WHERE item_fts MATCH :pattern "
    "UNION ALL SELECT id FROM item WHERE id > (SELECT coalesce(max(rowid), 0) FROM item_fts) "
    "UNION ALL SELECT item_id FROM search_queue"
)
_PG_FOUND = text(
    "SELECT rowid FROM item_fts WHERE text ILIKE :pattern ESCAPE '\\' "
    "AND rowid NOT IN (SELECT item_id FROM search_queue) "
    "UNION ALL SELECT id FROM item WHERE id IN ("
    "SELECT id FROM item WHERE id > (SELECT coalesce(max(rowid), 0) FROM item_fts) "
    "UNION ALL SELECT item_id FROM search_queue"
    ") AND regexp_replace(text, :invisible, '', 'g') ILIKE :pattern ESCAPE '\\'"
).bindparams(invisible=INVISIBLE_CLASS)
# The index holds the searchable form: cw_searchable on SQLite, the same class of characters
# removed by regexp_replace on PostgreSQL.
_INDEX_NEW = {
    "sqlite": text(
        "INSERT INTO item_fts (rowid, text) SELECT id, cw_searchable(text) FROM item "
        "WHERE id > (SELECT coalesce(max(rowid), 0) FROM item_fts) ORDER BY id LIMIT :batch"
    ),
    "postgresql": text(
        "INSERT INTO item_fts (rowid, text) "
        "SELECT id, regexp_replace(text, :invisible, '', 'g') FROM item "
        "WHERE id > (SELECT coalesce(max(rowid), 0) FROM item_fts) ORDER BY id LIMIT :batch"
    ).bindparams(invisible=INVISIBLE_CLASS),
}
_WATERMARK = text("SELECT coalesce(max(rowid), 0) FROM item_fts")
# Edits above the watermark wait for the new-item pass, which covers them in id order.
_UNINDEX_EDITED = text(
    "DELETE FROM item_fts WHERE rowid IN "
    "(SELECT item_id FROM search_queue WHERE item_id <= :watermark)"
)
_INDEX_EDITED = {
    "sqlite": text(
        "INSERT INTO item_fts (rowid, text) SELECT id, cw_searchable(text) FROM item "
        "WHERE id IN (SELECT item_id FROM search_queue WHERE item_id <= :watermark)"
    ),
    "postgresql": text(
        "INSERT INTO item_fts (rowid, text) "
        "SELECT id, regexp_replace(text, :invisible, '', 'g') FROM item "
        "WHERE id IN (SELECT item_id FROM search_queue WHERE item_id <= :watermark)"
    ).bindparams(invisible=INVISIBLE_CLASS),
}
_DEQUEUE_EDITED = text("DELETE FROM search_queue WHERE item_id <= :watermark")
# PostgreSQL advisory locks share one key space per database: a fixed key of our own
# (the ASCII of "cw_index").
_TAKE_TURNS = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=0x63775F696E646578)


def register_sqlite_functions(dbapi_connection: sqlite3.Connection) -> None:
    # SQLite's lower() folds ASCII only; investigators search Hangul, Cyrillic and Latin alike.
    dbapi_connection.create_function("cw_contains", 2, _contains, deterministic=True)
    dbapi_connection.create_function("cw_searchable", 1, _searchable, deterministic=True)


def _searchable(value: str | None) -> str | None:
    return None if value is None else without_invisible(value)


def _contains(haystack: str | None, needle: str | None) -> bool:
    # The needle arrives searchable and case-folded: text_condition folds the query once.
    if haystack is None or needle is None:
        return False
    folded = haystack.casefold()
    # A hit in the text as collected is a hit in its searchable form (the needle holds no
    # invisible character), and one character is found in either or in neither: only a
    # longer needle that missed needs the invisible characters removed, the slower part.
    return needle in folded or (len(needle) > 1 and needle in without_invisible(folded))


def catch_up(engine: Engine, batch: int = _BATCH) -> int:
    """Index everything pending; returns how many items this call (re)indexed.

    Safe to run in several processes at once (`db index` beside a crawl's housekeeping):
    their batches take turns, so each item is indexed once, by one of them.
    """
    index_new, index_edited = _INDEX_NEW[engine.dialect.name], _INDEX_EDITED[engine.dialect.name]
    indexed = 0
    while True:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Two indexers would read the same watermark and insert the same rows: the
                # second failed on item_fts's key. Taking turns (held until this batch commits)
                # rather than ON CONFLICT DO NOTHING: the indexing is the expensive part, and
                # the loser would compute and then throw away the same trigram entries, and
                # re-index the same queued edits. SQLite takes turns already: each batch's
                # first statement writes, so it holds the database's write lock before it reads
                # the watermark (and FTS5 tables take no ON CONFLICT).
                conn.execute(_TAKE_TURNS)
            # New items first, in id order, so the watermark only ever covers indexed rows.
            added = conn.execute(index_new, {"batch": batch}).rowcount
            if added:
                indexed += added
                continue
            # Read once: unindexing an edit of the highest indexed row would lower it and
            # leave that edit queued, unindexed, for a later pass.
            covered = {"watermark": conn.execute(_WATERMARK).scalar_one()}
            conn.execute(_UNINDEX_EDITED, covered)
            indexed += conn.execute(index_edited, covered).rowcount
            conn.execute(_DEQUEUE_EDITED, covered)
            return indexed


def text_condition(dialect: str, query: str) -> Any:
    """A WHERE condition on item: its searchable text contains `query`'s, case-insensitively."""
    query = without_invisible(query)
    if not query:
        # Nothing searchable contains an invisible character; matching every item instead
        # would answer a query nobody meant.
        return false()
    if dialect == "postgresql":
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return _items.c.id.in_(_PG_FOUND.bindparams(pattern=f"%{escaped}%"))
    contains = func.cw_contains(_items.c.text, literal(query.casefold()))
    if len(query) < MIN_INDEXED_CHARS:
        return contains
    candidates = _SQLITE_CANDIDATES.bindparams(pattern='"' + query.replace('"', '""') + '"')
    return _items.c.id.in_(candidates) & contains
