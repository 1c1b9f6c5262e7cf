"""Keyword and hash-bank alerts for the items of one batch. Pure: rows in, candidates out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from crawler.ingest import SourceChange
from crawler.matching.alerts import (
    KEYWORD_CONFIDENCE,
    Candidate,
    Kind,
    hash_key,
    keyword_key,
    profile_keyword_key,
)
from crawler.matching.hash_matcher import BankIndex, MediaQuery
from crawler.matching.keywords import Hit, KeywordMatcher
from crawler.observations import split_pdq
from storage.match_queries import BatchItem

MAX_HITS_IN_EVIDENCE = 20
"""A spam post can repeat a term thousands of times; the reviewer needs a few, and the count."""


def keyword_candidates(matcher: KeywordMatcher, items: Iterable[BatchItem]) -> list[Candidate]:
    items = list(items)
    return hit_candidates(zip(items, matcher.scan_many([item.text for item in items]), strict=True))


class HitItem(Protocol):
    """What a keyword alert needs of the item hit: a ``BatchItem`` (ingest) has it, and so has
    the retro-hunt's lighter row (``rescan_texts``)."""

    @property
    def id(self) -> int: ...
    @property
    def source_id(self) -> int: ...
    @property
    def reach(self) -> int: ...


def hit_candidates(found: Iterable[tuple[HitItem, list[Hit]]]) -> list[Candidate]:
    """An alert candidate per item and rule that hit it (``found``: each item with its hits)."""
    return [
        _keyword_candidate(rule, hits, keyword_key(rule, item.id), {}, item.id, item.source_id,
                           item.reach)
        for item, item_hits in found
        for rule, hits in _by_rule(item_hits).items()
    ]  # fmt: skip


def profile_keyword_candidates(
    matcher: KeywordMatcher, changes: Iterable[SourceChange]
) -> list[Candidate]:
    """Keyword hits in a channel's new title or description: rooms advertise in their names."""
    candidates = []
    for change in changes:
        if change.change not in ("first", "title", "about") or not change.after:
            continue
        field = "about" if change.change == "about" else "title"
        for rule, hits in _by_rule(matcher.scan(change.after)).items():
            key = profile_keyword_key(rule, change.source_id, field)
            candidates.append(
                _keyword_candidate(rule, hits, key, {"field": field}, None, change.source_id, None)
            )
    return candidates


def _by_rule(hits: Iterable[Hit]) -> dict[str, list[Hit]]:
    grouped: dict[str, list[Hit]] = {}
    for hit in hits:
        grouped.setdefault(hit.rule, []).append(hit)
    return grouped


def _keyword_candidate(
    rule: str,
    hits: list[Hit],
    key: str,
    extra: dict[str, Any],
    item_id: int | None,
    source_id: int,
    reach: int | None,
) -> Candidate:
    best = max(hits, key=lambda h: KEYWORD_CONFIDENCE[str(h.form)])
    return Candidate(
        kind=Kind.KEYWORD,
        severity=str(best.severity),
        dedupe_key=key,
        evidence={"rule": rule, **extra, "hit_count": len(hits),
                  "hits": [_hit(h) for h in hits[:MAX_HITS_IN_EVIDENCE]]},
        confidence=KEYWORD_CONFIDENCE[str(best.form)],
        reach=reach,
        item_id=item_id,
        source_id=source_id,
        refresh_evidence=True,
    )  # fmt: skip


def _hit(hit: Hit) -> dict[str, Any]:
    return {
        "term": hit.term, "form": str(hit.form), "start": hit.start, "end": hit.end,
        "matched_text": hit.matched_text, "severity": str(hit.severity),
    }  # fmt: skip


def hash_candidates(
    index: BankIndex,
    media: Sequence[Mapping[str, Any]],
    items: Mapping[int, BatchItem],
    *,
    dihedral: bool,
) -> list[Candidate]:
    """``dihedral``: query the stored rotations and flips of each picture too."""
    candidates = []
    for row in media:
        item = items.get(row["item_id"])
        if item is None:
            continue
        query = MediaQuery(
            row["sha256"], row["md5"], row["pdq"], row["pdq_quality"],
            split_pdq(row["pdq_dihedral"]) if dihedral else (),
        )  # fmt: skip
        for match in index.match(query):
            entry = match.entry
            media_hash = row["pdq"] if match.signal_type == "pdq" else row[match.signal_type]
            candidates.append(
                Candidate(
                    kind=Kind.HASH_MATCH,
                    severity=entry.severity,
                    dedupe_key=hash_key(entry.id, item.id),
                    evidence={
                        "bank": entry.bank, "entry_id": entry.id, "label": entry.label,
                        "signal_type": match.signal_type, "distance": match.distance,
                        "orientation": match.orientation,
                        "quality": match.quality, "media_ordinal": row["ordinal"],
                        "media_hash": media_hash,
                    },
                    confidence=match.confidence,
                    reach=item.reach,
                    item_id=item.id,
                    source_id=item.source_id,
                )
            )  # fmt: skip
    return candidates
