"""Retro-hunt: run banks and rules over everything already collected (``chanwatch rescan``).

A bank or rule imported today must also find what was collected yesterday. The rescan finds
the few media rows and texts that match with set-based reads, then hands them to the live
matchers' own candidate builders (``content_matchers.hash_candidates`` with the full
``BankIndex``, ``keyword_candidates``), so an alert has the same dedupe key, evidence, severity
and negative-bank suppression whichever path raised it.

- **SHA-256 / MD5**: one SQL join of media against the live positive entries
  (``storage.rescan_queries.exact_matches``).
- **PDQ**: ``pdq_index``'s multi-index search as a join, in batches of media (with their 7
  rotations and flips when ``alerts.pdq_dihedral``) against all the bank's entries at once:
  no per-picture or per-entry query.
- **Text**: every version of every item, deleted ones included, streamed in batches through
  the Hyperscan keyword engine.

Repeats: an alert that already exists (raised live or by an earlier rescan) is counted as
repeated and left as it is. Like a re-crawl of unchanged content, seeing stored content again
is not a new hit, so ``hit_count`` and ``last_seen`` move only when new content matches.
New alerts go out as ONE summary notification (``notify.enqueue_summary``), not one each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from crawler.errors import UserError
from crawler.matching import notify
from crawler.matching.alerts import Candidate
from crawler.matching.caches import BankCache, rule_from_row
from crawler.matching.content_matchers import hash_candidates, keyword_candidates
from crawler.matching.hash_matcher import MIN_PDQ_QUALITY
from crawler.matching.keywords import compile_rules
from crawler.matching.pdq_index import CHUNK_VALUES, CHUNKS, parse_hashes
from crawler.observations import split_pdq
from crawler.settings import Settings
from storage import alert_store, bank_store, match_queries
from storage import rescan_queries as q

PDQ_BATCH = 50_000
"""Media per PDQ join (400,000 hashes with the rotations and flips): the candidate pairs of one
chunk against a 10,000-entry bank then stay near a million (~50 MB)."""
_POPCOUNT16 = np.bitwise_count(np.arange(CHUNK_VALUES, dtype=np.uint16))
TEXT_BATCH = 5_000


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
    candidates: list[Candidate] = []
    with engine.connect() as conn:
        if rules is None:
            candidates += _hash_candidates(conn, settings, since, bank, report)
        if bank is None:
            candidates += _keyword_candidates(conn, since, rules, report)
    # Reads are done: the write transaction is short, however long the scan took.
    with engine.begin() as conn:
        _raise(conn, candidates, settings, datetime.now(UTC), report)
    return report


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
        for batch in q.pdq_media(conn, since, MIN_PDQ_QUALITY, PDQ_BATCH):
            for row in pdq_hits(batch, entries, dihedral):
                rows[row["item_id"], row["ordinal"]] = row
    if not rows:
        return []
    # The rows found go through the live matcher's index (every bank, negatives too): it
    # decides the evidence, the best orientation, and whether a negative bank suppresses.
    index = BankCache().current(conn)
    items = match_queries.batch_items(conn, [item_id for item_id, _ in rows])
    found = hash_candidates(index, list(rows.values()), {i.id: i for i in items}, dihedral=dihedral)
    return found if bank is None else [c for c in found if c.evidence["bank"] == bank]


def pdq_hits(
    media: Sequence[dict[str, Any]], entries: Sequence[tuple[int, str, int]], dihedral: bool
) -> list[dict[str, Any]]:
    """The media rows within some entry's threshold of their PDQ (or, with ``dihedral``, of one
    of its rotations and flips). ``entries``: (id, PDQ hex, threshold).

    The multi-index search of ``pdq_index`` run as one join instead of a query per entry: for
    each 16-bit chunk, every entry's chunk value and its near neighbours are looked up in the
    media's sorted chunk column at once, and all the (entry, media) pairs found are verified
    in one vectorised popcount. A query loop spent most of its time in per-query overhead.
    """
    hashes: list[str] = []
    owners: list[int] = []
    for position, row in enumerate(media):
        variants = (row["pdq"], *split_pdq(row["pdq_dihedral"])) if dihedral else (row["pdq"],)
        hashes.extend(variants)
        owners.extend([position] * len(variants))
    if not hashes or not entries:
        return []
    words = parse_hashes(hashes)
    bank = parse_hashes([value for _, value, _ in entries])
    thresholds = np.asarray([threshold for _, _, threshold in entries], dtype=np.int32)
    # Pigeonhole: within distance d, some chunk differs by at most d // CHUNKS bits.
    radius = int(thresholds.max()) // CHUNKS
    masks = np.flatnonzero(radius >= _POPCOUNT16).astype(np.int64)
    media_chunks, bank_chunks = words.view(np.uint16), bank.view(np.uint16)
    hit = np.zeros(len(hashes), dtype=bool)
    for chunk in range(CHUNKS):
        column = media_chunks[:, chunk]
        order = np.argsort(column, kind="stable")
        starts = np.zeros(CHUNK_VALUES + 1, dtype=np.int64)
        np.cumsum(np.bincount(column, minlength=CHUNK_VALUES), out=starts[1:])
        keys = (bank_chunks[:, chunk].astype(np.int64)[:, None] ^ masks[None, :]).ravel()
        lo, lengths = starts[keys], starts[keys + 1] - starts[keys]
        total = int(lengths.sum())
        if not total:
            continue
        # The ranges [lo, lo + length) concatenated, and the entry each pair belongs to.
        run_starts = np.cumsum(lengths) - lengths
        flat = np.arange(total, dtype=np.int64) + np.repeat(lo - run_starts, lengths)
        found = order[flat]
        entry = np.repeat(np.arange(len(keys)) // len(masks), lengths)
        # The first half of the bits rejects nearly every random pair (~64 bits apart there)
        # for half the memory reads; the survivors are checked on all 256.
        limit = thresholds[entry]
        half = _bits(words[found, 0] ^ bank[entry, 0]) + _bits(words[found, 1] ^ bank[entry, 1])
        close = half <= limit
        found, entry, half, limit = found[close], entry[close], half[close], limit[close]
        rest = _bits(words[found, 2] ^ bank[entry, 2]) + _bits(words[found, 3] ^ bank[entry, 3])
        hit[found[half + rest <= limit]] = True
    rows = np.unique(np.asarray(owners, dtype=np.int64)[hit])
    return [media[position] for position in rows.tolist()]


def _bits(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(values).astype(np.int32)


def _keyword_candidates(
    conn: Connection, since: datetime | None, names: Sequence[str] | None, report: RescanReport
) -> list[Candidate]:
    rows = bank_store.load_rules(conn)
    if names is not None:
        missing = sorted(set(names) - q.known_rules(conn, names))
        if missing:
            raise UserError(f"no enabled rule named {', '.join(map(repr, missing))}")
        rows = [row for row in rows if row["name"] in set(names)]
    if not rows:
        return []
    # Rules match independently of each other, so compiling only the chosen ones finds
    # exactly the hits the full set would find for them.
    matcher = compile_rules([rule_from_row(row) for row in rows])
    found: list[Candidate] = []
    for batch in q.texts(conn, since, TEXT_BATCH):
        report.texts_scanned += len(batch)
        report.text_bytes += sum(len(item.text.encode()) for item in batch)
        found += keyword_candidates(matcher, batch)
    return found


def _raise(
    conn: Connection,
    candidates: list[Candidate],
    settings: Settings,
    now: datetime,
    report: RescanReport,
) -> None:
    kinds = {c.dedupe_key: str(c.kind) for c in candidates}
    existing = q.existing_alert_keys(conn, list(kinds))
    report.repeated.update(kinds[key] for key in existing)
    # Several versions of one item can hit one rule: raise_alerts keeps the best of a key.
    new = alert_store.raise_alerts(
        conn, [c for c in candidates if c.dedupe_key not in existing], now
    )
    report.new.update(alert.kind for alert in new)
    report.notified = notify.enqueue_summary(conn, new, settings.notify, now)
