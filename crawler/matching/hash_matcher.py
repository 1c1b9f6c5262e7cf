"""Media hashes against hash banks, in memory: SHA-256 and MD5 exactly, PDQ by Hamming radius.

The index mirrors the `bank_entry` rows it was fed (``apply``) and is kept current by feeding it
only the rows that changed since (see ``storage.bank_store.entries_since``), so adding,
disabling or withdrawing an entry never rebuilds the PDQ index.

- A PDQ whose quality is below ``MIN_PDQ_QUALITY`` is never matched: low-quality hashes (flat or
  near-blank images) collide with each other, and a bank hit on one is noise.
- A media file that matches any negative-bank entry (a known false positive) raises nothing.
- ``dihedral`` queries also try the 7 rotations and flips of the image
  (``MediaHashes.pdq_dihedral``), so a mirrored or rotated copy of a banked image still matches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crawler.matching.pdq_index import PdqIndex

MIN_PDQ_QUALITY = 50
BULK_CHANGES = 4096
"""More changes than this at once rebuild the PDQ tables instead of adding one by one."""
NEAR_DISTANCE = 10
"""PDQ distances up to here are near-certain copies; confidence ranks them above the rest."""


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    bank: str
    negative: bool
    threshold: int
    severity: str
    signal_type: str
    value: str
    label: str | None


@dataclass(frozen=True, slots=True)
class MediaQuery:
    sha256: str | None = None
    md5: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    dihedral: tuple[str, ...] = ()
    """PDQ of the image's other orientations, when the collector computed them."""


@dataclass(frozen=True, slots=True)
class HashMatch:
    entry: Entry
    signal_type: str
    distance: int
    quality: int | None
    orientation: str | None = None
    """For PDQ: which orientation of the picture matched (``original``, ``rotate_90``, …)."""

    @property
    def confidence(self) -> float:
        """exact > PDQ within NEAR_DISTANCE > PDQ within the bank's threshold."""
        if self.signal_type != "pdq":
            return 1.0
        return 0.8 if self.distance <= NEAR_DISTANCE else 0.5


class _Side:
    """The entries of the positive or of the negative banks."""

    def __init__(self) -> None:
        self.exact: dict[tuple[str, str], set[int]] = {}
        self.pdq = PdqIndex()
        self.max_threshold = 0

    def add(self, entry: Entry) -> None:
        if entry.signal_type == "pdq":
            self.pdq.add(entry.id, entry.value)
            self.max_threshold = max(self.max_threshold, entry.threshold)
        else:
            self.exact.setdefault((entry.signal_type, entry.value), set()).add(entry.id)

    def remove(self, entry: Entry) -> None:
        if entry.signal_type == "pdq":
            self.pdq.remove(entry.id)
            return
        ids = self.exact.get((entry.signal_type, entry.value))
        if ids is not None:
            ids.discard(entry.id)
            if not ids:
                del self.exact[entry.signal_type, entry.value]


class BankIndex:
    """Every live bank entry, searchable by media hashes. Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, Entry] = {}
        self._sides = {False: _Side(), True: _Side()}

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self, changes: Iterable[tuple[Entry, bool]]) -> None:
        """Bring entries up to date: (entry, live) puts a live entry in, takes a dead one out.

        A few changes are applied in place; a large set (the first load, a bank import) rebuilds
        the PDQ tables in one pass, because adding a million entries one by one would merge
        the index's append buffer hundreds of times.
        """
        changes = list(changes)
        with self._lock:
            if len(changes) > BULK_CHANGES:
                for entry, live in changes:
                    self._entries.pop(entry.id, None)
                    if live:
                        self._entries[entry.id] = entry
                self._rebuild()
                return
            for entry, live in changes:
                old = self._entries.pop(entry.id, None)
                if old is not None:
                    self._sides[old.negative].remove(old)
                if live:
                    self._entries[entry.id] = entry
                    self._sides[entry.negative].add(entry)

    def _rebuild(self) -> None:
        sides = {False: _Side(), True: _Side()}
        pdq: dict[bool, tuple[list[int], list[str]]] = {False: ([], []), True: ([], [])}
        for entry in self._entries.values():
            side = sides[entry.negative]
            if entry.signal_type == "pdq":
                ids, hashes = pdq[entry.negative]
                ids.append(entry.id)
                hashes.append(entry.value)
                side.max_threshold = max(side.max_threshold, entry.threshold)
            else:
                side.exact.setdefault((entry.signal_type, entry.value), set()).add(entry.id)
        for negative, (ids, hashes) in pdq.items():
            if ids:
                sides[negative].pdq = PdqIndex.build(ids, hashes)
        self._sides = sides

    def match(self, media: MediaQuery) -> list[HashMatch]:
        """Positive-bank matches of one media file, none if a negative bank knows it."""
        with self._lock:
            if self._matches(self._sides[True], media):
                return []
            return self._matches(self._sides[False], media)

    def _matches(self, side: _Side, media: MediaQuery) -> list[HashMatch]:
        found: dict[int, HashMatch] = {}
        for signal_type in ("sha256", "md5"):
            value = getattr(media, signal_type)
            for entry_id in side.exact.get((signal_type, value), ()) if value else ():
                found[entry_id] = HashMatch(self._entries[entry_id], signal_type, 0, None)
        quality = media.pdq_quality
        if media.pdq and quality is not None and quality >= MIN_PDQ_QUALITY and len(side.pdq):
            for orientation, query in _pdq_queries(media):
                for entry_id, distance in side.pdq.query(query, side.max_threshold):
                    entry = self._entries[entry_id]
                    known = found.get(entry_id)
                    if distance > entry.threshold or (known and known.distance <= distance):
                        continue
                    found[entry_id] = HashMatch(entry, "pdq", distance, quality, orientation)
        return sorted(found.values(), key=lambda m: (-m.confidence, m.distance, m.entry.id))


ORIENTATIONS = (
    "original", "rotate_90", "rotate_180", "rotate_270", "flip_x", "flip_y", "flip_plus_1",
    "flip_minus_1",
)  # fmt: skip
"""pdqhash's order of the dihedral hashes; ``MediaQuery.dihedral`` holds all but the first."""


def _pdq_queries(media: MediaQuery) -> Sequence[tuple[str, str]]:
    pdq = media.pdq or ""
    others = zip(ORIENTATIONS[1:], media.dihedral, strict=False)
    return [("original", pdq), *((name, h) for name, h in others if h != pdq)]
