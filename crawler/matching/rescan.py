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
  joined in SQL, decoded a batch at a time); full rows are fetched for the hits alone.
- **Text**: every version of every item, deleted ones included, read 20,000 at a time as
  (item id, text) tuples; ``KeywordMatcher.scan_many`` scans a whole batch in one engine pass,
  and only the items with hits are read further and made into ``BatchItem``s. Each batch's
  alerts are raised in a short transaction of their own by a writer thread while the next
  batch is read and matched, so a long rescan never holds the write lock (SQLite) and the
  server's share of the writing runs beside the matching (PostgreSQL). Versions are read in
  item order and the last item of a batch waits for the next, so a key is raised once.

Repeats: an alert that already exists (raised live or by an earlier rescan) is counted as
repeated and left as it is. Like a re-crawl of unchanged content, seeing stored content again
is not a new hit, so ``hit_count`` and ``last_seen`` move only when new content matches.
New alerts go out as ONE summary notification (``notify.enqueue_summary``), not one each.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Connection, Engine

from crawler.errors import UserError
from crawler.matching import notify
from crawler.matching.alerts import Candidate
from crawler.matching.caches import BankCache, rule_from_row
from crawler.matching.content_matchers import hash_candidates, hit_candidates
from crawler.matching.hash_matcher import MIN_PDQ_QUALITY
from crawler.matching.keywords import KeywordMatcher, compile_rules
from crawler.matching.pdq_index import CHUNK_VALUES, CHUNKS
from crawler.settings import Settings
from storage import alert_store, bank_store, match_queries
from storage import rescan_queries as q

PDQ_BATCH = 50_000
"""Media per PDQ join (400,000 hashes with the rotations and flips): the candidate pairs of one
chunk against a 10,000-entry bank then stay near a million (~50 MB)."""
_POPCOUNT16 = np.bitwise_count(np.arange(CHUNK_VALUES, dtype=np.uint16))
TEXT_BATCH = 20_000


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
) -> RescanReport:
    """Match stored media and texts collected at or after ``since`` against the banks (only
    ``bank`` when given) and the rules (only ``rules`` when given); raise what is missing.

    With ``bank`` only hashes are scanned, with ``rules`` only texts, without either both.
    """
    if bank is not None and rules is not None:
        raise UserError("give --bank or --rule, not both")
    report = RescanReport()
    new: list[alert_store.NewAlert] = []
    with _cyclic_gc_paused():
        if rules is None:
            with engine.connect() as conn:
                candidates = _hash_candidates(conn, settings, since, bank, report)
            # Reads are done: the write transaction is short, however long the scan took.
            new += _raise(engine, candidates, report)
        if bank is None:
            new += _rescan_texts(engine, since, rules, report)
        with engine.begin() as conn:
            report.notified = notify.enqueue_summary(conn, new, settings.notify, datetime.now(UTC))
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
        for batch in q.pdq_media(conn, since, MIN_PDQ_QUALITY, PDQ_BATCH, dihedral):
            hexes = [value for _, _, value in batch]
            counts = np.fromiter(map(len, hexes), dtype=np.intp, count=len(hexes)) // 64
            owners = np.repeat(np.arange(len(batch)), counts)
            found = np.unique(owners[pdq_hits(_words(hexes, counts), bank_words, thresholds)])
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


def pdq_hits(words: np.ndarray, bank: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Mask of the ``words`` (PDQs, uint64 (n, 4)) within some ``bank`` entry's threshold.

    The multi-index search of ``pdq_index`` run as one join instead of a query per entry: for
    each 16-bit chunk, the media hashes are sorted on it, every entry's chunk value and its near
    neighbours are looked up as ranges of that order, and all the (entry, hash) pairs found are
    verified at once. Some 60 million pairs for 200,000 media with their 7 rotations and flips
    against 10,000 entries, so the pass over them is kept to column arrays, ``take`` with
    ``intp`` indices and in-place operations (2D fancy indexing cost twice as much).
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
    ordered = [np.empty_like(column) for column in columns]
    for chunk in range(CHUNKS):
        column = media_chunks[:, chunk]
        order = np.argsort(column, kind="stable")
        starts = np.zeros(CHUNK_VALUES + 1, dtype=np.intp)
        np.cumsum(np.bincount(column, minlength=CHUNK_VALUES), out=starts[1:])
        keys = (bank_chunks[:, chunk].astype(np.intp)[:, None] ^ masks[None, :]).ravel()
        lo = starts.take(keys)
        lengths = starts.take(keys + 1) - lo
        used = np.flatnonzero(lengths)
        if not used.size:
            continue
        lo, lengths, entry = lo.take(used), lengths.take(used), used // len(masks)
        # The ranges [lo, lo + length) of the order, concatenated.
        ends = np.cumsum(lengths)
        flat = np.repeat(lo - ends + lengths, lengths)
        flat += np.arange(flat.size)
        # The first half of the bits rejects nearly every random pair (~64 bits apart there)
        # for half the memory reads; the survivors are checked on all 256.
        half = np.zeros(flat.size, dtype=np.uint8)
        for source, target, bank_column in zip(columns, ordered, bank_columns, strict=True):
            source.take(order, out=target)
            pair = target.take(flat)
            np.bitwise_xor(pair, np.repeat(bank_column.take(entry), lengths), out=pair)
            half += np.bitwise_count(pair)
        close = np.flatnonzero(half <= limit)
        if not close.size:
            continue
        found = order.take(flat.take(close))
        pair_entry = entry.take(np.searchsorted(ends, close, side="right"))
        distance = np.bitwise_count(words[found] ^ bank[pair_entry]).sum(axis=1, dtype=np.int32)
        hit[found[distance <= thresholds[pair_entry]]] = True
    return hit


def _matcher(conn: Connection, names: Sequence[str] | None) -> KeywordMatcher | None:
    rows = bank_store.load_rules(conn)
    if names is not None:
        missing = sorted(set(names) - q.known_rules(conn, names))
        if missing:
            raise UserError(f"no enabled rule named {', '.join(map(repr, missing))}")
        rows = [row for row in rows if row["name"] in set(names)]
    # Rules match independently of each other, so compiling only the chosen ones finds
    # exactly the hits the full set would find for them.
    return compile_rules([rule_from_row(row) for row in rows]) if rows else None


def _rescan_texts(
    engine: Engine, since: datetime | None, names: Sequence[str] | None, report: RescanReport
) -> list[alert_store.NewAlert]:
    """Match every stored text, a batch at a time, and raise each batch's alerts in a short
    transaction of their own while the next batch is read and matched (on PostgreSQL the
    server's share of the writing then runs beside the matching)."""
    new: list[alert_store.NewAlert] = []
    with engine.connect() as conn, ThreadPoolExecutor(1, "rescan-raise") as writer:
        matcher = _matcher(conn, names)
        if matcher is None:
            return new
        pending: Future[list[alert_store.NewAlert]] | None = None
        held: list[Candidate] = []
        for batch in q.texts(conn, since, TEXT_BATCH):
            found = held + _text_candidates(conn, matcher, batch, report)
            # An item's versions are read together, and the last item's may go on in the next
            # batch: its candidates wait for the rest, so each key is raised once, at its best.
            last = batch[-1][0]
            held = [c for c in found if c.item_id == last]
            if pending is not None:
                new += pending.result()
            pending = writer.submit(_raise, engine, [c for c in found if c.item_id != last],
                                    report)  # fmt: skip
        if pending is not None:
            new += pending.result()
    return new + _raise(engine, held, report)


def _text_candidates(
    conn: Connection, matcher: KeywordMatcher, batch: Sequence[tuple[int, str | None]],
    report: RescanReport,
) -> list[Candidate]:  # fmt: skip
    texts = [text or "" for _, text in batch]
    report.texts_scanned += len(batch)
    report.text_bytes += sum(map(len, map(str.encode, texts)))
    # One engine pass for the batch; only the items with hits are read further.
    hit = [(batch[n][0], texts[n], hits) for n, hits in enumerate(matcher.scan_many(texts))
           if hits]  # fmt: skip
    meta = q.items(conn, {item_id for item_id, _, _ in hit})
    return hit_candidates(
        (q.batch_item(meta[item_id], text, conn.dialect), hits) for item_id, text, hits in hit
    )


def _raise(
    engine: Engine, candidates: list[Candidate], report: RescanReport
) -> list[alert_store.NewAlert]:
    """Raise what is not raised yet, in a transaction of its own; the new alerts."""
    if not candidates:
        return []
    kinds = {c.dedupe_key: str(c.kind) for c in candidates}
    with engine.begin() as conn:
        existing = alert_store.existing_keys(conn, list(kinds))
        # Several versions of one item can hit one rule: raise_alerts keeps the best of a key.
        new = alert_store.raise_alerts(
            conn, [c for c in candidates if c.dedupe_key not in existing], datetime.now(UTC)
        )
    # Counters only: safe from the writer thread while the reader counts texts.
    report.repeated.update(kinds[key] for key in existing)
    report.new.update(alert.kind for alert in new)
    return new
