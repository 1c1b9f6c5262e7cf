"""When a target runs next, and what it must not run alongside: pure rules, no I/O.

Both front ends (`run` in one process, Procrastinate workers) follow them, so a target behaves
the same whichever runs it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from crawler.collect import TargetOutcome
from crawler.locators import TargetKind
from crawler.settings import Settings
from storage.watchlist_store import TargetRow

MAX_BACKOFF = timedelta(hours=24)
"""Failing targets back off up to this (or their own interval, when longer)."""
MAX_JITTER = timedelta(minutes=5)
JITTER_FRACTION = 0.1
"""Each period is stretched by up to 10 % (at most 5 minutes), so targets added together
drift apart instead of hitting their sites and accounts in lockstep forever."""


def next_due(
    outcome: TargetOutcome,
    *,
    finished: datetime,
    interval_s: int,
    failures: int,
    rng: random.Random,
) -> datetime:
    """When the target is due again after a run that ended with `outcome` at `finished`.

    `failures` counts consecutive failed runs, this one included. A deferred or rate-limited
    run that knows when it may retry comes back exactly then; a failing target backs off
    (doubling, capped) so that a flaky site costs little and pages nobody before the
    operational "no successful run" alert decides it is really down.
    """
    if outcome.retry_at is not None and not outcome.failed:
        return max(outcome.retry_at, finished)
    interval = timedelta(seconds=interval_s)
    if outcome.failed and failures > 1:
        interval = min(interval * 2 ** min(failures - 1, 20), max(MAX_BACKOFF, interval))
    jitter = min(interval * JITTER_FRACTION, MAX_JITTER) * rng.random()
    return finished + interval + jitter


def site_of(target: TargetRow, settings: Settings) -> str | None:
    """`scheme://host:port` of the site a spider target fetches from, or None (Telegram API
    targets are spread over accounts, not sites). At most one run per site at a time keeps
    the spiders' politeness (one request a second per site) across concurrent runs."""
    kind = TargetKind(target.kind)
    if kind is TargetKind.WEB_PAGE:
        return origin(target.locator)
    if kind is TargetKind.TME_PREVIEW:
        return origin(settings.telegram.preview_base_url)
    return None


def origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"
