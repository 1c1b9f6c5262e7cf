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
    """`reused` maps a newly seen source to the older source that held its username (as the
    database shows it); a `recreated` change is the collector's own word for the same, with
    the previous source in `before`. Either raises one `username_reused` alert."""
    candidates = []
    recreated = {c.source_id: int(c.before or 0) for c in changes if c.change == "recreated"}
    titles = {c.source_id: c.after for c in changes if c.change == "first"}
    for change in changes:
        source_id, kind = change.source_id, change.change
        evidence: dict[str, object] = {"before": change.before, "after": change.after}
        if kind == "recreated" or (kind == "first" and source_id in reused):
            if kind == "first" and source_id in recreated:
                continue  # the recreated change of the same batch speaks for it
            kind = "username_reused"
            previous = recreated.get(source_id, reused.get(source_id))
            evidence = {"previous_source_id": previous, "title": titles.get(source_id)}
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
