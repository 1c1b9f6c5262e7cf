"""Keyword and hash-bank alerts for the items of one batch. Pure: rows in, candidates out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crawler.matching.alerts import (
    KEYWORD_CONFIDENCE,
    Candidate,
    Kind,
    hash_key,
    keyword_key,
)
from crawler.matching.hash_matcher import BankIndex, MediaQuery
from crawler.matching.keywords import Hit, KeywordMatcher
from storage.match_queries import BatchItem

MAX_HITS_IN_EVIDENCE = 20
"""A spam post can repeat a term thousands of times; the reviewer needs a few, and the count."""


def keyword_candidates(matcher: KeywordMatcher, items: Iterable[BatchItem]) -> list[Candidate]:
    candidates = []
    for item in items:
        by_rule: dict[str, list[Hit]] = {}
        for hit in matcher.scan(item.text):
            by_rule.setdefault(hit.rule, []).append(hit)
        for rule, hits in by_rule.items():
            best = max(hits, key=lambda h: KEYWORD_CONFIDENCE[str(h.form)])
            candidates.append(
                Candidate(
                    kind=Kind.KEYWORD,
                    severity=str(best.severity),
                    dedupe_key=keyword_key(rule, item.id),
                    evidence={
                        "rule": rule,
                        "hit_count": len(hits),
                        "hits": [_hit(h) for h in hits[:MAX_HITS_IN_EVIDENCE]],
                    },
                    confidence=KEYWORD_CONFIDENCE[str(best.form)],
                    reach=item.reach,
                    item_id=item.id,
                    source_id=item.source_id,
                    refresh_evidence=True,
                )
            )
    return candidates


def _hit(hit: Hit) -> dict[str, Any]:
    return {
        "term": hit.term, "form": str(hit.form), "start": hit.start, "end": hit.end,
        "matched_text": hit.matched_text, "severity": str(hit.severity),
    }  # fmt: skip


def hash_candidates(
    index: BankIndex, media: Sequence[Mapping[str, Any]], items: Mapping[int, BatchItem]
) -> list[Candidate]:
    candidates = []
    for row in media:
        item = items.get(row["item_id"])
        if item is None:
            continue
        query = MediaQuery(row["sha256"], row["md5"], row["pdq"], row["pdq_quality"])
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
