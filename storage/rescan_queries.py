"""What a retro-hunt (``chanwatch rescan``) reads: everything collected, set-based and streamed.

The exact hashes are one join of `media` against the live positive `bank_entry` rows, driven
by the indexes on both sides, so its cost follows the matches and the bank, not the media
table. PDQ is streamed in batches through a server-side cursor (PostgreSQL), and text is read
one item id range at a time (``text_ranges``), so a rescan of millions of rows holds one batch
or range per process in memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterator
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    true,
    union,
    union_all,
)

from storage import bulk
from storage.content_writes import chunks
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


@cache
def _pdq_query(since: bool, dihedral: bool) -> Select[Any]:
    hexes = _media.c.pdq
    if dihedral:
        hexes = _media.c.pdq + func.coalesce(_media.c.pdq_dihedral, literal_column("''"))
    query = select(_media.c.item_id, _media.c.ordinal, hexes).where(
        _media.c.pdq.is_not(None), _media.c.pdq_quality >= bindparam("min_quality")
    )
    return query.where(_media.c.observed_at >= bindparam("since")) if since else query


def pdq_media(
    conn: Connection, since: datetime | None, min_quality: int, batch: int, dihedral: bool
) -> Iterator[list[tuple[int, int, str]]]:
    """(item id, ordinal, hex) of the media rows with a PDQ of at least ``min_quality`` (a PDQ
    below it never matches, so it is not even read), ``batch`` rows at a time. The hex is the
    PDQ, followed with ``dihedral`` by its stored rotations and flips: one string per row,
    concatenated by the database, so the caller decodes a whole batch in one ``fromhex``.
    Rows stay the driver's tuples (``bulk.stream``): SQLAlchemy's rows cost a third more."""
    params: dict[str, Any] = {"min_quality": min_quality}
    if since is not None:
        params["since"] = since
    yield from bulk.stream(conn, _pdq_query(since is not None, dihedral), params, batch)


def media_rows(conn: Connection, keys: Collection[tuple[int, int]]) -> list[dict[str, Any]]:
    """The ``MEDIA_COLUMNS`` of the media rows with these (item id, ordinal) keys."""
    wanted = set(keys)
    found: list[dict[str, Any]] = []
    for part in chunks(sorted({item for item, _ in wanted}), 500):
        query = select(*MEDIA_COLUMNS).where(_media.c.item_id.in_(part))
        rows = (dict(row._mapping) for row in conn.execute(query))
        found += [row for row in rows if (row["item_id"], row["ordinal"]) in wanted]
    return found


_ID_FLOOR, _ID_CEILING = 0, 2**63 - 1
"""Bounds below and above every item id: the open ends of the first and last id range."""


_ITEM_FACTS = (_items.c.source_id, _items.c.views)
"""What an alert needs of the item besides its id (``content_matchers.hit_candidates``): read
beside each text, two integers cost less than a second query for the items that hit."""


def _text_selects(since: bool, with_text: bool) -> tuple[Select[Any], Select[Any]]:
    """The item id (with the text: the text, source id and views) of items never edited,
    whose text is in their own row, and of every version of edited ones; with ``since``, a
    ``since`` bind on when each text was collected."""
    current = select(
        *([_items.c.id, _items.c.text, *_ITEM_FACTS] if with_text else [_items.c.id])
    ).where(_items.c.version_count <= literal_column("1"))
    earlier = select(_versions.c.item_id)
    if with_text:
        earlier = select(_versions.c.item_id, _versions.c.text, *_ITEM_FACTS).select_from(
            _versions.join(_items, _items.c.id == _versions.c.item_id)
        )
    if since:
        current = current.where(_items.c.collected_at >= bindparam("since"))
        earlier = earlier.where(_versions.c.observed_at >= bindparam("since"))
    return current, earlier


@cache
def _range_query(since: bool) -> Select[Any]:
    ids = union_all(*_text_selects(since, with_text=False)).subquery()
    numbered = select(ids.c.id, func.row_number().over(order_by=ids.c.id).label("n")).subquery()
    return select(numbered.c.id).where(numbered.c.n % bindparam("size") == 0)


def text_ranges(conn: Connection, since: datetime | None, size: int) -> list[tuple[int, int]]:
    """Item id ranges ``(after, up_to]`` that cover every text ``texts`` reads, about
    ``size`` texts each. An item's versions are never split between two ranges, so each range
    can be matched and raised on its own: the ids of every ``size``-th text, found by the
    database over the ids alone (no text is read)."""
    params: dict[str, Any] = {"size": size}
    if since is not None:
        params["since"] = since
    cuts = sorted({int(i) for i in conn.execute(_range_query(since is not None), params).scalars()})
    return list(itertools.pairwise([_ID_FLOOR, *cuts, _ID_CEILING]))


@cache
def _text_queries(since: bool) -> tuple[Select[Any], Select[Any]]:
    """(item id, text, source id, views) of every text of the items in ``(after, up_to]``."""
    current, earlier = _text_selects(since, with_text=True)
    return (
        current.where(_items.c.id > bindparam("after"), _items.c.id <= bindparam("up_to")),
        earlier.where(
            _versions.c.item_id > bindparam("after"), _versions.c.item_id <= bindparam("up_to")
        ),
    )


def texts(
    conn: Connection, since: datetime | None, id_range: tuple[int, int]
) -> list[tuple[int, str | None, int, int | None]]:
    """Every distinct text the items in ``id_range`` (a ``text_ranges`` range) had, as
    (item id, text, source id, views) rows.

    An item never edited keeps its only version in its own row; an edited one has all its
    versions, the latest included, in item_version, so those are read instead of the row and
    each text is scanned once, with its own collection time for ``since``. Deleted items are
    included: `deleted_at` only marks them. Rows stay the driver's tuples (``bulk.stream``).
    """
    params: dict[str, Any] = {"after": id_range[0], "up_to": id_range[1]}
    if since is not None:
        params["since"] = since
    found: list[tuple[int, str | None, int, int | None]] = []
    for query in _text_queries(since is not None):
        for rows in bulk.stream(conn, query, params, 10_000):
            found += rows
    return found


def participants(conn: Connection, source_ids: Collection[int]) -> dict[int, int | None]:
    """Each source's member count, by id (an item's reach weighs it: ``match_queries.reach``)."""
    found: dict[int, int | None] = {}
    for part in chunks(sorted(source_ids), 500):
        query = select(_sources.c.id, _sources.c.participants).where(_sources.c.id.in_(part))
        found.update(conn.execute(query).tuples().all())
    return found
