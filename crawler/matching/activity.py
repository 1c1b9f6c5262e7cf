"""Activity spikes (a room suddenly posting far above its usual rate, as when a new batch of
material is dumped) and changes of watched pages that opted in to alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crawler.matching.alerts import Candidate, Kind, page_change_key, spike_key
from storage.match_queries import BatchItem

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Rate:
    source_id: int
    end: datetime
    recent: int
    """Posts in the hour up to `end`."""
    baseline: int
    """Posts in the baseline window before that hour."""
    earliest: datetime | None


def spike_candidate(
    rate: Rate, *, factor: float, baseline_hours: int, min_posts: int, reach: int | None
) -> Candidate | None:
    """A spike when the last hour holds at least `min_posts` posts and more than `factor` ×
    the baseline's hourly mean. A channel whose history does not cover the whole baseline
    (a first crawl) has no baseline yet and never spikes."""
    window_start = rate.end - timedelta(hours=1 + baseline_hours)
    if rate.earliest is None or rate.earliest > window_start:
        return None
    mean = rate.baseline / baseline_hours
    if rate.recent < min_posts or rate.recent <= factor * mean:
        return None
    hour = rate.end.replace(minute=0, second=0, microsecond=0).isoformat()
    return Candidate(
        kind=Kind.ACTIVITY_SPIKE,
        severity="medium",
        dedupe_key=spike_key(rate.source_id, hour),
        evidence={
            "posts_last_hour": rate.recent,
            "baseline_per_hour": round(mean, 3),
            "baseline_hours": baseline_hours,
            "factor": factor,
            "hour_end": rate.end.isoformat(),
        },
        reach=reach,
        source_id=rate.source_id,
        refresh_evidence=True,
    )


def newest_posts(items: list[BatchItem], sources: set[int]) -> dict[int, datetime]:
    """Per watched source, the newest posting time among the batch's new items."""
    newest: dict[int, datetime] = {}
    for item in items:
        if item.source_id in sources and item.posted_at is not None:
            current = newest.get(item.source_id)
            newest[item.source_id] = max(item.posted_at, current or item.posted_at)
    return newest


def page_change_candidates(items: list[BatchItem], opted_in: set[str]) -> list[Candidate]:
    return [
        Candidate(
            kind=Kind.PAGE_CHANGE,
            severity="medium",
            dedupe_key=page_change_key(item.id, item.version_count),
            evidence={"url": item.platform_id, "version": item.version_count},
            item_id=item.id,
            source_id=item.source_id,
        )
        for item in items
        if item.platform == "web" and item.platform_id in opted_in
    ]
