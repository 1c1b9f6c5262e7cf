"""Retro-hunt: run banks and rules over everything already collected (``chanwatch rescan``).

A bank or rule imported today must also find what was collected yesterday. The rescan finds
the few media rows and texts that match with set-based reads, then hands them to the live
matchers' own candidate builders (``content_matchers.hash_candidates`` with the full
``BankIndex``, ``hit_candidates``), so an alert has the same dedupe key, evidence, severity
and negative-bank suppression whichever path raised it.

- **SHA-256 / MD5**: one SQL join of media against the live positive entries
  (``storage.rescan_queries.exact_matches``).
- **PDQ**: ``pdq_index``'s multi-index search as a join, in batches of media (with their 7
  rotations and flips when ``alerts.pdq_dihedral``) against all the bank's entries at once:
  no per-picture or per-entry query. Only the key and the hex are read (one string per row,
  joined in SQL, decoded a batch at a time), the next batch while this one is matched, and
  the chunks of the search are shared by threads; full rows are fetched for the hits alone.
- **Text**: every version of every item, deleted ones included, in item id ranges (about four
  per worker, at most 20,000 texts each) matched and raised by worker processes
  (``rescan_texts``).

Repeats: an alert that already exists (raised live or by an earlier rescan) is counted as
repeated and left as it is. Like a re-crawl of unchanged content, seeing stored content again
is not a new hit, so ``hit_count`` and ``last_seen`` move only when new content matches.
New alerts go out as ONE summary notification (``notify.enqueue_summary``), not one each.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np
from sqlalchemy import Connection, Engine

from crawler.errors import UserError
from crawler.matching import notify
from crawler.matching.alerts import Candidate
from crawler.matching.caches import BankCache
from crawler.matching.content_matchers import hash_candidates
from crawler.matching.hash_matcher import MIN_PDQ_QUALITY
from crawler.matching.pdq_index import CHUNK_VALUES, CHUNKS
from crawler.matching.rescan_alerts import Raised, raise_missing
from crawler.matching.rescan_texts import rescan_texts
from crawler.settings import Settings
from storage import match_queries
from storage import rescan_queries as q
from storage.engine import in_memory

PDQ_BATCH = 50_000
"""Media per PDQ join (400,000 hashes with the rotations and flips): the candidate pairs of one
chunk against a 10,000-entry bank then stay near a million (~50 MB)."""
_POPCOUNT16 = np.bitwise_count(np.arange(CHUNK_VALUES, dtype=np.uint16))


@dataclass(slots=True)
class RescanReport:
    media_scanned: int = 0
    texts_scanned: int = 0
    text_bytes: int = 0
    new: Counter[str] = field(default_factory=Counter)
    """New alerts by kind."""
    repeated: Counter[str] = field(default_factory=Counter)
    """Matches whose alert already existed, by kind (left unchanged)."""
    notified: int = 0
    """Destinations the one summary notification was queued for."""


def rescan(
    engine: Engine,
    settings: Settings,
    *,
    since: datetime | None = None,
    bank: str | None = None,
    rules: Sequence[str] | None = None,
    workers: int | None = None,
) -> RescanReport:
    """Match stored media and texts collected at or after ``since`` against the banks (only
    ``bank`` when given) and the rules (only ``rules`` when given); raise what is missing.

    With ``bank`` only hashes are scanned, with ``rules`` only texts, without either both.
    ``workers``: processes for the texts, threads for PDQ (``alerts.rescan_workers`` when
    None).
    """
    if bank is not None and rules is not None:
        raise UserError("give --bank or --rule, not both")
    report = RescanReport()
    raised = Raised()
    workers = settings.alerts.rescan_workers if workers is None else workers
    with _cyclic_gc_paused():
        if rules is None:
            with engine.connect() as conn:
                candidates = _hash_candidates(conn, settings, since, bank, workers, report)
            # Reads are done: the write transaction is short, however long the scan took.
            raised.add(raise_missing(engine, candidates))
        if bank is None:
            texts = rescan_texts(engine, since, rules, workers)
            report.texts_scanned, report.text_bytes = texts.texts, texts.bytes
            raised.add(texts.raised)
        report.new.update(alert.kind for alert in raised.new)
        report.repeated.update(raised.repeated)
        with engine.begin() as conn:
            report.notified = notify.enqueue_summary(
                conn, raised.new, settings.notify, datetime.now(UTC)
            )
    return report


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a rescan runs; reference counting still frees what
    it drops. A rules rescan allocates millions of short-lived objects (rows, hits, evidence,
    alert rows), and the collections they trigger, each walking every live object, cost
    12-25 % of its time (1.13 → 0.97 s on 10.7 MB; freezing what existed before was no
    better), and 20-36 % of a hash rescan's on SQLite. It makes few cycles, and they are
    collected once the rescan ends."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _hash_candidates(
    conn: Connection,
    settings: Settings,
    since: datetime | None,
    bank: str | None,
    threads: int,
    report: RescanReport,
) -> list[Candidate]:
    bank_id = None
    if bank is not None:
        bank_id = q.bank_id(conn, bank)
        if bank_id is None:
            raise UserError(f"no bank named {bank!r}")
    dihedral = settings.alerts.pdq_dihedral
    report.media_scanned = q.count_media(conn, since)
    rows = {(r["item_id"], r["ordinal"]): r for r in q.exact_matches(conn, since, bank_id)}
    entries = q.pdq_entries(conn, bank_id)
    if entries:
        bank_words = _words([value for _, value, _ in entries])
        thresholds = np.asarray([threshold for _, _, threshold in entries], dtype=np.int32)
        close: set[tuple[int, int]] = set()
        batches = q.pdq_media(conn, since, MIN_PDQ_QUALITY, PDQ_BATCH, dihedral)
        for batch in _read_ahead(batches, enabled=not in_memory(conn.engine)):
            hexes = [value for _, _, value in batch]
            counts = np.fromiter(map(len, hexes), dtype=np.intp, count=len(hexes)) // 64
            owners = np.repeat(np.arange(len(batch)), counts)
            near = pdq_hits(_words(hexes, counts), bank_words, thresholds, threads)
            found = np.unique(owners[near])
            close.update(batch[position][:2] for position in found.tolist())
        rows.update(
            ((r["item_id"], r["ordinal"]), r) for r in q.media_rows(conn, close - rows.keys())
        )
    if not rows:
        return []
    # The rows found go through the live matcher's index (every bank, negatives too): it
    # decides the evidence, the best orientation, and whether a negative bank suppresses.
    index = BankCache().current(conn)
    items = match_queries.batch_items(conn, [item_id for item_id, _ in rows])
    found = hash_candidates(index, list(rows.values()), {i.id: i for i in items}, dihedral=dihedral)
    return found if bank is None else [c for c in found if c.evidence["bank"] == bank]


T = TypeVar("T")


def _read_ahead(batches: Generator[T, None, None], *, enabled: bool) -> Iterator[T]:
    """The batches, each next one read by a thread while the caller works on this one. The
    reading runs without the GIL (PostgreSQL formats and sends the rows in its own process,
    SQLite reads in C), beside the numpy matching: 200,000 media rows take ~0.8 s to read on
    PostgreSQL. Not ``enabled`` for a SQLite database in memory, whose connection is bound
    to its thread."""
    if not enabled:
        yield from batches
        return
    with ThreadPoolExecutor(1, "rescan-read") as reader:
        pending = reader.submit(next, batches, None)
        try:
            while (batch := pending.result()) is not None:
                pending = reader.submit(next, batches, None)
                yield batch
        finally:
            wait([pending])
            batches.close()  # its cursor, if the caller stopped early


def _words(hexes: Sequence[str], counts: np.ndarray | None = None) -> np.ndarray:
    """Concatenated 64-hex PDQs -> uint64 array (n, 4), one ``fromhex`` for all of them;
    ``counts``: the hashes in each string (one each when None)."""
    joined = "".join(hexes)
    expected = len(hexes) if counts is None else int(counts.sum())
    if len(joined) == 64 * expected:
        raw = bytes.fromhex(joined)
        if len(raw) == 32 * expected:  # fromhex skips whitespace
            return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(expected, 4)
    bad = next(h for h in hexes if len(h) % 64 or len(bytes.fromhex(h)) * 2 != len(h))
    raise ValueError(f"not 64-hex PDQ hashes: {bad!r}")


def pdq_hits(
    words: np.ndarray, bank: np.ndarray, thresholds: np.ndarray, threads: int = 1
) -> np.ndarray:
    """Mask of the ``words`` (PDQs, uint64 (n, 4)) within some ``bank`` entry's threshold.

    The multi-index search of ``pdq_index`` run as one join instead of a query per entry: for
    each 16-bit chunk, the media hashes are sorted on it, every entry's chunk value and its near
    neighbours are looked up as ranges of that order, and all the (entry, hash) pairs found are
    verified at once. Some 60 million pairs for 200,000 media with their 7 rotations and flips
    against 10,000 entries, so the pass over them is kept to column arrays, ``take`` with
    ``intp`` indices and in-place operations (2D fancy indexing cost twice as much). The chunks
    are independent and numpy releases the GIL in each of these steps, so ``threads`` share
    them (two threads on two cores: ~1.6x).
    """
    hit = np.zeros(len(words), dtype=bool)
    if not len(words) or not len(bank):
        return hit
    # Pigeonhole: within distance d, some chunk differs by at most d // CHUNKS bits.
    limit = int(thresholds.max())
    masks = np.flatnonzero(limit // CHUNKS >= _POPCOUNT16)
    media_chunks, bank_chunks = words.view(np.uint16), bank.view(np.uint16)
    columns = [np.ascontiguousarray(words[:, k]) for k in (0, 1)]
    bank_columns = [np.ascontiguousarray(bank[:, k]) for k in (0, 1)]

    def chunk_hits(chunk: int) -> np.ndarray:
        """The ``words`` within threshold of an entry whose ``chunk`` is near theirs."""
        column = media_chunks[:, chunk]
        order = np.argsort(column, kind="stable")
        starts = np.zeros(CHUNK_VALUES + 1, dtype=np.intp)
        np.cumsum(np.bincount(column, minlength=CHUNK_VALUES), out=starts[1:])
        keys = (bank_chunks[:, chunk].astype(np.intp)[:, None] ^ masks[None, :]).ravel()
        lo = starts.take(keys)
        lengths = starts.take(keys + 1) - lo
        used = np.flatnonzero(lengths)
        if not used.size:
            return used
        lo, lengths, entry = lo.take(used), lengths.take(used), used // len(masks)
        # The ranges [lo, lo + length) of the order, concatenated.
        ends = np.cumsum(lengths)
        flat = np.repeat(lo - ends + lengths, lengths)
        flat += np.arange(flat.size)
        # The first half of the bits rejects nearly every random pair (~64 bits apart there)
        # for half the memory reads; the survivors are checked on all 256.
        half = np.zeros(flat.size, dtype=np.uint8)
        for source, bank_column in zip(columns, bank_columns, strict=True):
            pair = source.take(order).take(flat)
            np.bitwise_xor(pair, np.repeat(bank_column.take(entry), lengths), out=pair)
            half += np.bitwise_count(pair)
        close = np.flatnonzero(half <= limit)
        found = order.take(flat.take(close))
        pair_entry = entry.take(np.searchsorted(ends, close, side="right"))
        distance = np.bitwise_count(words[found] ^ bank[pair_entry]).sum(axis=1, dtype=np.int32)
        return found[distance <= thresholds[pair_entry]]

    if threads <= 1:
        for chunk in range(CHUNKS):
            hit[chunk_hits(chunk)] = True
        return hit
    with ThreadPoolExecutor(threads, "rescan-pdq") as pool:
        for found in pool.map(chunk_hits, range(CHUNKS)):
            hit[found] = True
    return hit
