"""One crawl pass over due targets: pick each target's collector, run it, record the outcome.

Collectors plug in by target kind. A target whose collector cannot run here (no account
configured, no collector for its kind yet) gets a status that says so; one failing target
never stops the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from crawler.ingest import IngestResult, Matcher, ingest
from crawler.locators import CRAWLABLE_KINDS, TargetKind
from crawler.logging import get_logger, redact_text
from crawler.matching.notify import deliver_pending
from crawler.matching.operational import check_targets
from crawler.matching.pipeline import build_matchers
from crawler.observations import Observation
from crawler.settings import Settings
from storage import run_store, watchlist_store
from storage.search import catch_up
from storage.watchlist_store import TargetRow

log = get_logger(__name__)

# Statuses that mean "nothing wrong with this target"; anything else fails the run (exit 1),
# among them the spiders' `unreachable`, `refused` and `robots_disallowed`.
OK_STATUSES = frozenset(
    {"ok", "deferred", "no_account", "no_collector", "not_modified", "rate_limited"}
)
# Statuses that mean the target was actually looked at. Deferred, rate-limited and unserved
# (no account, no collector) runs fail nothing, but a target that only ever has those is blind,
# and the operational "no successful run" alert must see it.
SUCCESS_STATUSES = frozenset({"ok", "not_modified"})


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    status: str
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.status not in OK_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS_STATUSES


class RunContext:
    """What a collector gets for one target: a way to hand observations to ingest."""

    def __init__(
        self, engine: Engine, settings: Settings, run_id: int, matchers: Sequence[Matcher]
    ) -> None:
        self.engine, self.settings, self.run_id = engine, settings, run_id
        self._matchers = matchers

    def emit(self, observations: Sequence[Observation]) -> IngestResult:
        """Commit a batch before the collector moves its cursor past it."""
        return ingest(self.engine, observations, crawl_run_id=self.run_id, matchers=self._matchers)


class Collector(Protocol):
    name: str

    def unavailable(self, settings: Settings) -> TargetOutcome | None:
        """Why this collector cannot run with these settings, or None."""

    async def collect(self, target: TargetRow, run: RunContext) -> TargetOutcome: ...


CollectorFactory = Callable[[], Collector]
COLLECTORS: dict[TargetKind, CollectorFactory] = {}


def _telegram() -> Collector:
    # Telethon loads only when a Telegram target runs.
    from crawler.telegram.collector import TelegramCollector

    return TelegramCollector()


COLLECTORS[TargetKind.TELEGRAM] = _telegram


def _spider(name: str) -> CollectorFactory:
    def make() -> Collector:
        # Scrapy loads only where a crawl starts: crawler does not import spiders otherwise.
        from spiders.runner import SpiderCollector

        return SpiderCollector(name)

    return make


COLLECTORS[TargetKind.TME_PREVIEW] = _spider("tme_preview")
COLLECTORS[TargetKind.WEB_PAGE] = _spider("page_watch")


def default_matchers(engine: Engine, settings: Settings) -> list[Matcher]:
    """The matchers every ingest path runs (keyword rules, hash banks, discovery, changes).

    Every collector, in this process or another, gets its matchers from here.
    """
    return build_matchers(engine, settings)


def unavailable_outcome(kind: TargetKind, settings: Settings) -> TargetOutcome | None:
    if kind is TargetKind.TELEGRAM and not settings.telegram.accounts:
        return TargetOutcome("no_account", "no Telegram account configured (telegram.accounts)")
    if kind not in COLLECTORS:
        return TargetOutcome("no_collector", f"no collector for {kind.value} targets yet")
    return None


@dataclass(frozen=True, slots=True)
class TargetResult:
    target: TargetRow
    outcome: TargetOutcome
    counts: run_store.RunCounts
    seconds: float


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
    for target in targets:
        if progress is not None:
            progress(target)
        results.append(await _run_target(engine, settings, target, matchers))
    catch_up(engine)
    check_targets(engine, settings)
    # Alerts raised in this pass go out now; a failed delivery stays queued for the next pass.
    await asyncio.to_thread(deliver_pending, engine, settings)
    return results


async def _run_target(
    engine: Engine, settings: Settings, target: TargetRow, matchers: Sequence[Matcher]
) -> TargetResult:
    started = time.monotonic()
    kind = TargetKind(target.kind)
    outcome = unavailable_outcome(kind, settings)
    collector = None if outcome is not None else COLLECTORS[kind]()
    with engine.begin() as conn:
        run_id = run_store.start_run(
            conn, target_id=target.id, collector=collector.name if collector else kind.value,
            account=None, at=datetime.now(UTC),
        )  # fmt: skip
    if collector is not None:
        context = RunContext(engine, settings, run_id, matchers)
        try:
            outcome = await collector.collect(target, context)
        except Exception as exc:  # one bad target must never stop the batch
            log.exception("collector failed", target=target.locator, collector=collector.name)
            outcome = TargetOutcome("error", redact_text(f"{type(exc).__name__}: {exc}"))
    if outcome is None:
        outcome = TargetOutcome("error", "collector returned no outcome")
    finished = datetime.now(UTC)
    with engine.begin() as conn:
        counts = run_store.finish_run(
            conn, run_id, status=outcome.status, error=outcome.message, at=finished
        )
        watchlist_store.record_target_run(
            conn, target.id, status=outcome.status, failed=outcome.failed,
            succeeded=outcome.succeeded, error=outcome.message, at=finished,
            next_due_at=finished + timedelta(seconds=target.interval_s),
        )  # fmt: skip
    return TargetResult(target, outcome, counts, time.monotonic() - started)
