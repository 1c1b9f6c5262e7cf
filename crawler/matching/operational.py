"""Operational alerts: the crawler itself going blind.

A target with no successful run in `alerts.stale_factor` × its interval (a collector failing
quietly, a channel that blocks us), and a collector reporting that its parser no longer
understands the page (`parser_stale`: markup changed, posts are there but none parsed). Checked
after every crawl pass rather than per batch, because a target that fails emits no batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from crawler.locators import CRAWLABLE_KINDS
from crawler.matching.alerts import Candidate, Kind, operational_key
from crawler.matching.pipeline import raise_and_queue
from crawler.settings import Settings
from storage.item_queries import iso
from storage.match_queries import enabled_targets

PARSER_STALE = "parser_stale"


def operational_candidates(
    targets: Iterable[Any], now: datetime, stale_factor: float
) -> list[Candidate]:
    candidates = []
    for t in targets:
        base = {"target_id": t.id, "locator": t.locator, "kind": t.kind,
                "last_status": t.last_status, "last_run_at": iso(t.last_run_at)}  # fmt: skip
        if t.last_status == PARSER_STALE:
            candidates.append(
                Candidate(Kind.OPERATIONAL, "high", operational_key(t.id, PARSER_STALE),
                          {"problem": PARSER_STALE, **base}, refresh_evidence=True)
            )  # fmt: skip
        since = t.last_success_at or t.added_at
        if since is not None and now - since > timedelta(seconds=stale_factor * t.interval_s):
            evidence = {"problem": "stale", "last_success_at": iso(t.last_success_at),
                        "interval_s": t.interval_s, **base}  # fmt: skip
            candidates.append(
                Candidate(Kind.OPERATIONAL, "medium", operational_key(t.id, "stale"), evidence,
                          refresh_evidence=True)
            )  # fmt: skip
    return candidates


def check_targets(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Raise operational alerts for every enabled crawlable target; returns how many are new."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        rows = enabled_targets(conn, [kind.value for kind in CRAWLABLE_KINDS])
        candidates = operational_candidates(rows, now, settings.alerts.stale_factor)
        return len(raise_and_queue(conn, candidates, settings, now))
