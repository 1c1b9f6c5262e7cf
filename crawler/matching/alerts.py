"""What an alert is before it is stored: kind, severity, dedupe key, evidence, priority.

Pure: matchers build ``Candidate`` values; ``storage.alert_store.raise_alerts`` turns them into
rows, where a repeat of a dedupe key bumps `hit_count` and `last_seen` instead of adding a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    KEYWORD = "keyword"
    HASH_MATCH = "hash_match"
    DISCOVERY = "discovery"
    SOURCE_CHANGE = "source_change"
    PAGE_CHANGE = "page_change"
    ACTIVITY_SPIKE = "activity_spike"
    OPERATIONAL = "operational"


SEVERITIES = ("low", "medium", "high", "critical")

KEYWORD_CONFIDENCE = {
    "as_written": 1.0,
    "separated": 0.8,
    "lookalike": 0.8,
    "jamo": 0.6,
    "initials": 0.4,
    "romanized": 0.6,
    "latin_phonetic": 0.7,
    "mixed_script": 0.7,
    "jamo_slip": 0.3,
}
"""How sure a keyword hit is, by the form it took: evasions that also occur by accident (initial
consonants above all) rank lower than the term as written."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def priority(severity: str, confidence: float, reach: int | None) -> float:
    """Severity weight (1-4) × confidence (0-1) × reach factor (1 for nobody, 1.3 at 10⁹).

    Reach is the larger of the item's views and its channel's subscribers: a post seen by
    100,000 people outranks the same post seen by 50. The reach factor stays below the 4:3 step
    between adjacent severities, so reach alone never lifts an alert above an equally confident
    alert of higher severity; low confidence (initial consonants, a distant PDQ) can.
    """
    weight = severity_rank(severity) + 1
    factor = 1.0 + min(math.log10(1 + max(reach or 0, 0)), 9.0) / 30
    return round(weight * confidence * factor, 4)


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: Kind
    severity: str
    dedupe_key: str
    evidence: dict[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    reach: int | None = None
    item_id: int | None = None
    source_id: int | None = None
    refresh_evidence: bool = False
    """A repeat replaces the stored evidence (discovery counts) instead of keeping the first."""

    @property
    def priority(self) -> float:
        return priority(self.severity, self.confidence, self.reach)


def keyword_key(rule: str, item_id: int) -> str:
    return f"keyword:{rule}:{item_id}"


def profile_keyword_key(rule: str, source_id: int, field: str) -> str:
    return f"keyword:{rule}:source:{source_id}:{field}"


def hash_key(entry_id: int, item_id: int) -> str:
    return f"hash_match:{entry_id}:{item_id}"


def discovery_key(channel: str) -> str:
    return f"discovery:{channel}"


def source_change_key(source_id: int, change: str) -> str:
    return f"source_change:{source_id}:{change}"


def page_change_key(item_id: int, version: int) -> str:
    return f"page_change:{item_id}:{version}"


def spike_key(source_id: int, hour: str) -> str:
    return f"activity_spike:{source_id}:{hour}"


def operational_key(target_id: int, problem: str) -> str:
    return f"operational:{target_id}:{problem}"
