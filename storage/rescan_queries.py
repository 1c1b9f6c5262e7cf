"""What a retro-hunt (``chanwatch rescan``) reads: everything collected, set-based and streamed.

The exact hashes are one join of `media` against the live positive `bank_entry` rows, driven
by the indexes on both sides, so its cost follows the matches and the bank, not the media
table. PDQ and text are streamed in batches through server-side cursors (PostgreSQL) so a
rescan of millions of rows holds one batch in memory at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    true,
    union,
)

from storage import bulk
from storage.content_writes import chunks
from storage.match_queries import BatchItem
from storage.models import BankEntry, HashBank, Item, ItemVersion, Media, Rule, Source

_media, _entries, _banks = Media.__table__, BankEntry.__table__, HashBank.__table__
_items, _versions, _sources = Item.__table__, ItemVersion.__table__, Source.__table__
_rules = Rule.__table__

MEDIA_COLUMNS = (
    _media.c.item_id, _media.c.ordinal, _media.c.sha256, _media.c.md5, _media.c.pdq,
    _media.c.pdq_quality, _media.c.pdq_dihedral,
)  # fmt: skip
"""The columns ``crawler.matching.content_matchers.hash_candidates`` reads, in batch_media's
shape."""


def bank_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(_banks.c.id).where(_banks.c.name == name)).scalar()


def known_rules(conn: Connection, names: Collection[str]) -> set[str]:
    """The names among these of rules that exist and are enabled."""
    query = select(_rules.c.name).where(_rules.c.name.in_(list(names)), _rules.c.enabled)
    return set(conn.execute(query).scalars())


def _live_positive(bank: int | None) -> Any:
    condition = and_(_entries.c.status == "active", _banks.c.enabled, ~_banks.c.negative)
    return condition if bank is None else and_(condition, _banks.c.id == bank)


def _media_since(since: datetime | None) -> Any:
    return true() if since is None else _media.c.observed_at >= since


def count_media(conn: Connection, since: datetime | None) -> int:
    """Media rows with any hash collected since ``since``: what a hash rescan looks at."""
    hashed = _media.c.sha256.is_not(None) | _media.c.md5.is_not(None) | _media.c.pdq.is_not(None)
    query = select(func.count()).select_from(_media).where(hashed, _media_since(since))
    return int(conn.execute(query).scalar_one())


def exact_matches(
    conn: Connection, since: datetime | None, bank: int | None
) -> list[dict[str, Any]]:
    """Media rows whose SHA-256 or MD5 is a live entry of a positive bank (``bank`` only if
    given). One UNION of two joins rather than an OR in one join condition, so each side can
    use the `(signal_type, value)` index of bank_entry and the hash index of media."""
    selects = [
        select(*MEDIA_COLUMNS)
        .select_from(
            _media.join(
                _entries,
                and_(_entries.c.signal_type == signal_type, _entries.c.value == column),
            ).join(_banks, _banks.c.id == _entries.c.bank_id)
        )
        .where(_live_positive(bank), _media_since(since))
        for signal_type, column in (("sha256", _media.c.sha256), ("md5", _media.c.md5))
    ]
    return [dict(row._mapping) for row in conn.execute(union(*selects))]


def pdq_entries(conn: Connection, bank: int | None) -> list[tuple[int, str, int]]:
    """(entry id, PDQ hex, the bank's threshold) of every live positive PDQ entry."""
    query = (
        select(_entries.c.id, _entries.c.value, _banks.c.pdq_threshold)
        .select_from(_entries.join(_banks, _banks.c.id == _entries.c.bank_id))
        .where(_entries.c.signal_type == "pdq", _live_positive(bank))
    )
    return [(int(r[0]), r[1], int(r[2])) for r in conn.execute(query)]


def pdq_media(
    conn: Connection, since: datetime | None, min_quality: int, batch: int, dihedral: bool
) -> Iterator[list[tuple[int, int, str]]]:
    """(item id, ordinal, hex) of the media rows with a PDQ of at least ``min_quality`` (a PDQ
    below it never matches, so it is not even read), ``batch`` rows at a time. The hex is the
    PDQ, followed with ``dihedral`` by its stored rotations and flips: one string per row,
    concatenated by the database, so the caller decodes a whole batch in one ``fromhex``."""
    hexes = _media.c.pdq
    if dihedral:
        hexes = _media.c.pdq + func.coalesce(_media.c.pdq_dihedral, "")
    query = select(_media.c.item_id, _media.c.ordinal, hexes).where(
        _media.c.pdq.is_not(None), _media.c.pdq_quality >= min_quality, _media_since(since)
    )
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    yield from result.tuples().partitions(batch)  # type: ignore[misc]


def media_rows(conn: Connection, keys: Collection[tuple[int, int]]) -> list[dict[str, Any]]:
    """The ``MEDIA_COLUMNS`` of the media rows with these (item id, ordinal) keys."""
    wanted = set(keys)
    found: list[dict[str, Any]] = []
    for part in chunks(sorted({item for item, _ in wanted}), 500):
        query = select(*MEDIA_COLUMNS).where(_media.c.item_id.in_(part))
        rows = (dict(row._mapping) for row in conn.execute(query))
        found += [row for row in rows if (row["item_id"], row["ordinal"]) in wanted]
    return found


def _text_columns(text: Any) -> tuple[Any, ...]:
    return (
        _items.c.id, _items.c.source_id, _sources.c.platform, _items.c.platform_id,
        _sources.c.username, _sources.c.platform_id, text, _items.c.views,
        _sources.c.participants, _items.c.posted_at, _items.c.version_count,
        _items.c.fwd_username, _items.c.fwd_source_id,
    )  # fmt: skip


@cache
def _text_queries(since: bool) -> tuple[Select[Any], Select[Any]]:
    """Items never edited (the text in their own row), and every version of edited ones; with
    ``since``, a ``since`` bind on when each text was collected."""
    joined = _items.join(_sources, _sources.c.id == _items.c.source_id)
    current = select(*_text_columns(_items.c.text)).select_from(joined)
    current = current.where(_items.c.version_count <= literal_column("1"))
    earlier = select(*_text_columns(_versions.c.text)).select_from(
        _versions.join(joined, _items.c.id == _versions.c.item_id)
    )
    if since:
        current = current.where(_items.c.collected_at >= bindparam("since"))
        earlier = earlier.where(_versions.c.observed_at >= bindparam("since"))
    return current, earlier


def texts(
    conn: Connection, since: datetime | None, batch: int
) -> Iterator[list[tuple[Any, ...]]]:
    """Every distinct text an item had, as rows for ``batch_item``, ``batch`` at a time (the
    text is ``row[TEXT]``, None for none).

    An item never edited keeps its only version in its own row; an edited one has all its
    versions, the latest included, in item_version, so those are read instead of the row and
    each text is scanned once, with its own collection time for ``since``. Deleted items are
    included: `deleted_at` only marks them. Rows stay the driver's tuples (``bulk.stream``):
    a rescan turns only the few that match into ``BatchItem``s.
    """
    params = {} if since is None else {"since": since}
    for query in _text_queries(since is not None):
        yield from bulk.stream(conn, query, params, batch)


TEXT = 6
"""Where ``texts`` rows hold the text."""
_POSTED_AT = _items.c.posted_at.type


def batch_item(r: Sequence[Any], dialect: Dialect) -> BatchItem:
    """A ``texts`` row as the BatchItem the live matchers take."""
    posted_at = _POSTED_AT.process_result_value(r[9], dialect)
    return BatchItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "", max(r[7] or 0, r[8] or 0),
                     posted_at, r[10], r[11], r[12])  # fmt: skip
