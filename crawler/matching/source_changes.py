"""Alerts about watched channels themselves: renames, new usernames or descriptions,
takedowns and returns, and a username that now names a different channel (a room deleted and
re-created under its old name, the commonest way these rooms survive reports)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crawler.ingest import SourceChange
from crawler.matching.alerts import Candidate, Kind, source_change_key

CHANGE_SEVERITY = {
    "username": "high",
    "username_reused": "high",
    "unavailable": "medium",
    "available": "medium",
    "title": "medium",
    "about": "low",
}


def source_change_candidates(
    changes: Iterable[SourceChange],
    watched: set[int],
    reused: Mapping[int, int],
    reach: Mapping[int, int],
) -> list[Candidate]:
    """`reused` maps a newly seen source to the older source that held its username."""
    candidates = []
    for change in changes:
        source_id, kind = change.source_id, change.change
        evidence: dict[str, object] = {"before": change.before, "after": change.after}
        if kind == "first" and source_id in reused:
            kind = "username_reused"
            evidence = {"previous_source_id": reused[source_id], "title": change.after}
        elif kind == "first" or source_id not in watched or kind not in CHANGE_SEVERITY:
            continue
        candidates.append(
            Candidate(
                kind=Kind.SOURCE_CHANGE,
                severity=CHANGE_SEVERITY[kind],
                dedupe_key=source_change_key(source_id, kind),
                evidence={"change": kind, **evidence},
                reach=reach.get(source_id),
                source_id=source_id,
                refresh_evidence=True,
            )
        )
    return candidates
