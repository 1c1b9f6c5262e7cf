"""One crawl pass over due targets (`chanwatch crawl --once`), then the housekeeping chores.

Each target runs exactly as under `chanwatch run` or a worker (crawler/jobs/runner.py): claimed,
collected, recorded. A target that another process is running is left to it; one failing target
never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine

from crawler.collect import RunStatus, TargetOutcome
from crawler.ingest import Matcher
from crawler.jobs import housekeeping
from crawler.jobs.runner import TargetResult, run_claimed, start
from crawler.locators import CRAWLABLE_KINDS
from crawler.matching.pipeline import build_matchers
from crawler.settings import Settings
from storage import run_store, watchlist_store
from storage.watchlist_store import TargetRow

__all__ = ["TargetResult", "crawl_once", "default_matchers"]


def default_matchers(engine: Engine, settings: Settings) -> list[Matcher]:
    """The matchers every ingest path runs (keyword rules, hash banks, discovery, changes)."""
    return build_matchers(engine, settings)


def distinct_crawls(targets: Sequence[TargetRow]) -> list[TargetRow]:
    """One target per (kind, locator): a channel on two watchlists is crawled once."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for target in targets:
        if (target.kind, target.locator) not in seen:
            seen.add((target.kind, target.locator))
            unique.append(target)
    return unique


async def crawl_once(
    engine: Engine,
    settings: Settings,
    *,
    locator: str | None = None,
    matchers: Sequence[Matcher] = (),
    progress: Callable[[TargetRow], None] | None = None,
    now: datetime | None = None,
) -> list[TargetResult]:
    """Run every due, enabled target once (or the one `locator` names, due or not).

    `now` decides which targets are due (default: the clock); a simulation such as
    `chanwatch demo` passes its own time.
    """
    now = now or datetime.now(UTC)
    kinds = [kind.value for kind in CRAWLABLE_KINDS]
    with engine.connect() as conn:
        # A disabled target is never crawled, not even when `locator` names it.
        targets = watchlist_store.list_targets(
            conn, locator=locator, kinds=kinds, due_at=None if locator else now, enabled_only=True
        )
    results = []
    for target in distinct_crawls(targets):
        if progress is not None:
            progress(target)
        claimed = start(engine, [target], settings, datetime.now(UTC))
        if not claimed:
            results.append(_busy(target))
            continue
        results.append(await run_claimed(engine, settings, claimed[0], matchers))
    await housekeeping.run_all(engine, settings, datetime.now(UTC))
    return results


def _busy(target: TargetRow) -> TargetResult:
    outcome = TargetOutcome(RunStatus.DEFERRED, "being crawled by another process")
    return TargetResult(target, outcome, run_store.RunCounts(0, 0, 0, 0), 0.0, 0)
