"""The text half of a retro-hunt: every stored text against the rules, in item id ranges
matched by worker processes.

Each range (``storage.rescan_queries.text_ranges``: about four per worker, at most 20,000
texts, never splitting an item's versions) is read as (item id, text, source id, views)
tuples and scanned in one engine pass (``KeywordMatcher.scan_many``); only the member counts of
the sources that hit are read besides, and the range's alerts are raised in a short
transaction of its own (``rescan_alerts.raise_missing``).
A range is whole, so a key is raised once, from its best version, whichever process takes it.

Why processes: matching is Python, and so is the client side of writing a range's alerts
(rows, JSON, COPY), so threads only took turns holding the GIL (measured on two cores: the
matching took 0.44 s instead of 0.24 s while a writer thread ran beside it). Workers are forked
once the rules are compiled and the fold table built, so they start in milliseconds with both
in hand, and each opens its own connections.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine

from crawler.errors import UserError
from crawler.matching.caches import rule_from_row
from crawler.matching.content_matchers import hit_candidates
from crawler.matching.keywords import KeywordMatcher, Rule, compile_rules
from crawler.matching.keywords.fold import fold_table
from crawler.matching.rescan_alerts import Raised, raise_missing
from storage import bank_store
from storage import rescan_queries as q
from storage.engine import in_memory
from storage.match_queries import reach

TEXT_RANGE = 20_000
"""Texts per range at most: big enough that one engine pass and one write cover many texts,
small enough that a range's texts and hits stay a few MB."""
RANGES_PER_PROCESS = 4
"""Ranges are made smaller (down to ``GRANULE`` texts) until each worker gets about this many,
so the last one to finish is not left with a whole large range while the others wait."""
GRANULE = 1_000


@dataclass(slots=True)
class TextsScanned:
    texts: int = 0
    bytes: int = 0
    """UTF-8 bytes of text scanned."""
    raised: Raised = field(default_factory=Raised)

    def add(self, other: TextsScanned) -> None:
        self.texts += other.texts
        self.bytes += other.bytes
        self.raised.add(other.raised)


def rescan_texts(
    engine: Engine, since: datetime | None, names: Sequence[str] | None, processes: int
) -> TextsScanned:
    """Match every text collected since ``since`` against the rules (only ``names`` when
    given) and raise what is missing, in ``processes`` worker processes (none when 1, when
    there is only one range, or for a SQLite database in memory)."""
    done = TextsScanned()
    with engine.connect() as conn:
        rules = _rules(conn, names)
    if not rules:
        return done
    if in_memory(engine):  # one connection: one thing at a time
        matcher, fine = compile_rules(rules), _fine_ranges(engine, since)
    else:
        # The database finds the ranges while the rules compile and the fold table is built
        # (all inherited by the workers): a tenth of a second no longer spent in turn.
        with ThreadPoolExecutor(1) as thread:
            finding = thread.submit(_fine_ranges, engine, since)
            matcher = compile_rules(rules)
            matcher.prepare_many()
            fold_table()
            fine = finding.result()
    wanted = len(fine) // (processes * RANGES_PER_PROCESS)
    ranges = _merged(fine, max(1, min(TEXT_RANGE // GRANULE, wanted)))
    if processes <= 1 or len(ranges) <= 1 or in_memory(engine):
        for id_range in ranges:
            done.add(_scan_range(engine, matcher, since, id_range, contextlib.nullcontext()))
        return done
    # fork, not spawn or forkserver: the compiled rules (a Hyperscan database) need not be
    # pickled and no import is repeated. chanwatch runs on Linux (its containers), which has it.
    context = multiprocessing.get_context("fork")
    workers = min(processes, len(ranges))
    # Workers that collect garbage would write to every object they inherited, copying the
    # parent's pages one by one: frozen objects are left alone (the gc module's advice for
    # fork). A parent with a large heap (a benchmark's inputs) took 10 % longer without.
    gc.freeze()
    # SQLite has one writer at a time, and a writer that finds the database locked sleeps in
    # steps of up to 100 ms before it looks again: the workers take turns through a lock of
    # their own instead, which hands over the moment a write ends.
    turns = context.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
    try:
        with context.Pool(workers, _start_worker, (engine, matcher, since, turns)) as pool:
            for part in pool.imap_unordered(_scan_in_worker, ranges):
                done.add(part)
    finally:
        gc.unfreeze()
    return done


def _merged(ranges: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """Each ``size`` adjacent ranges as one."""
    return [(ranges[n][0], ranges[min(n + size, len(ranges)) - 1][1])
            for n in range(0, len(ranges), size)]  # fmt: skip


def _rules(conn: Connection, names: Sequence[str] | None) -> list[Rule]:
    rows = bank_store.load_rules(conn)
    if names is not None:
        missing = sorted(set(names) - q.known_rules(conn, names))
        if missing:
            raise UserError(f"no enabled rule named {', '.join(map(repr, missing))}")
        rows = [row for row in rows if row["name"] in set(names)]
    # Rules match independently of each other, so compiling only the chosen ones finds
    # exactly the hits the full set would find for them.
    return [rule_from_row(row) for row in rows]


def _fine_ranges(engine: Engine, since: datetime | None) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return q.text_ranges(conn, since, min(GRANULE, TEXT_RANGE))


def _scan_range(
    engine: Engine,
    matcher: KeywordMatcher,
    since: datetime | None,
    id_range: tuple[int, int],
    turns: AbstractContextManager[object],
) -> TextsScanned:
    """Read, match and raise one range of texts (the raising in ``turns``)."""
    with engine.connect() as conn:
        rows = q.texts(conn, since, id_range)
        texts = [row[1] or "" for row in rows]
        hit = [(rows[n], hits) for n, hits in enumerate(matcher.scan_many(texts)) if hits]
        members = q.participants(conn, {row[2] for row, _ in hit})
    candidates = hit_candidates(
        (_HitItem(item_id, source_id, reach(views, members.get(source_id))), hits)
        for (item_id, _, source_id, views), hits in hit
    )
    # The read connection is given back first: SQLite then holds no snapshot while it writes.
    with turns:
        raised = raise_missing(engine, candidates)
    return TextsScanned(len(rows), sum(map(len, map(str.encode, texts))), raised)


class _HitItem(NamedTuple):
    id: int
    source_id: int
    reach: int


_worker: (
    tuple[Engine, KeywordMatcher, datetime | None, AbstractContextManager[object]] | None
) = None


def _start_worker(
    engine: Engine,
    matcher: KeywordMatcher,
    since: datetime | None,
    turns: AbstractContextManager[object],
) -> None:
    global _worker
    # The pooled connections came with the fork and belong to the parent: forget, not close.
    engine.dispose(close=False)
    _worker = (engine, matcher, since, turns)


def _scan_in_worker(id_range: tuple[int, int]) -> TextsScanned:
    assert _worker is not None, "a worker runs _start_worker first"
    engine, matcher, since, turns = _worker
    return _scan_range(engine, matcher, since, id_range, turns)
