"""Running one target, the same way for `crawl --once`, `run` and Procrastinate workers.

Claim the target (a lease of kind `target`, so no two processes ever run it at once), open a
`crawl_run`, hand the collector a sink into ingest, record the outcome and when the target is
due again. A run that a dead process left `running` is closed as `abandoned` by whoever claims
the target next.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, Engine

from crawler.collect import Collector, RunStatus, RunStopped, TargetOutcome
from crawler.collectors import COLLECTORS, CollectorFactory, collector_for
from crawler.ingest import IngestResult, Matcher, ingest
from crawler.jobs.schedule import next_due
from crawler.locators import TargetKind
from crawler.logging import bind_run, get_logger, redact_text
from crawler.observations import Observation
from crawler.owner import OWNER, holder_gone
from crawler.settings import Settings
from storage import lease_store, run_store, watchlist_store
from storage.watchlist_store import TargetRow

log = get_logger(__name__)

CLAIM_KIND = "target"
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunContext:
    """The sink a collector gets for one run: observations go to ingest (and its matchers)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        run_id: int,
        matchers: Sequence[Matcher],
        stop: asyncio.Event | None = None,
    ) -> None:
        self.engine, self.settings, self.run_id = engine, settings, run_id
        self._matchers = matchers
        self._stop = stop

    def emit(self, observations: Sequence[Observation]) -> IngestResult:
        """Commit a batch before the collector moves its cursor past it."""
        return ingest(self.engine, observations, crawl_run_id=self.run_id, matchers=self._matchers)

    @property
    def stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def until_stopping(self) -> None:
        if self._stop is None:
            await asyncio.Event().wait()  # never: nothing can stop this run
        else:
            await self._stop.wait()


@dataclass(frozen=True, slots=True)
class TargetResult:
    target: TargetRow
    outcome: TargetOutcome
    counts: run_store.RunCounts
    seconds: float
    run_id: int


def claim_key(target: TargetRow) -> str:
    """Targets are claimed by what they crawl: one locator on two watchlists is one crawl."""
    return f"{target.kind}:{target.locator}"


def claim_ttl(settings: Settings) -> timedelta:
    """How long a claim outlives a holder that vanished without a trace (another host): the
    longest a run may take, plus a margin."""
    longest = max(settings.spiders.max_run_s, settings.telegram.lease_seconds)
    return timedelta(seconds=longest * 2)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A target this process holds, with its run opened."""

    target: TargetRow
    run_id: int
    collector: Collector | TargetOutcome
    """What will run it, or why nothing can (no account, no collector)."""


def start(
    engine: Engine,
    targets: Sequence[TargetRow],
    settings: Settings,
    now: datetime,
    *,
    collectors: Mapping[TargetKind, CollectorFactory] = COLLECTORS,
) -> list[Claimed]:
    """Claim each target and open its run, all in one transaction; a target another process
    holds is left out. Runs a dead holder left open are closed as abandoned on the way."""
    keys = {claim_key(target): target for target in targets}
    with engine.begin() as conn:
        held = lease_store.acquire_many(
            conn, CLAIM_KIND, list(keys), OWNER, now=now, ttl=claim_ttl(settings),
            holder_gone=holder_gone,
        )  # fmt: skip
        ours = [target for key, target in keys.items() if key in held]
        return _open_runs(conn, ours, settings, now, collectors)


class NotStarted(StrEnum):
    BUSY = "claimed by another process"
    SERVED = "already run since it was queued"


def start_queued(
    engine: Engine,
    target: TargetRow,
    settings: Settings,
    now: datetime,
    queued: datetime,
    *,
    collectors: Mapping[TargetKind, CollectorFactory] = COLLECTORS,
) -> Claimed | NotStarted:
    """`start` for a job queued at `queued`: a run that ended since then (another process
    held the target meanwhile) has served it, which only the claim's holder can tell."""
    with engine.begin() as conn:
        held = lease_store.acquire_many(
            conn, CLAIM_KIND, [claim_key(target)], OWNER, now=now, ttl=claim_ttl(settings),
            holder_gone=holder_gone,
        )  # fmt: skip
        if not held:
            return NotStarted.BUSY
        last = watchlist_store.last_run_at(conn, target.kind, target.locator)
        if last is not None and last > queued:
            lease_store.release(conn, CLAIM_KIND, claim_key(target), OWNER)
            return NotStarted.SERVED
        return _open_runs(conn, [target], settings, now, collectors)[0]


def _open_runs(
    conn: Connection,
    targets: Sequence[TargetRow],
    settings: Settings,
    now: datetime,
    collectors: Mapping[TargetKind, CollectorFactory],
) -> list[Claimed]:
    """Open a run for each claimed target; runs a dead holder left open close as abandoned."""
    run_store.close_abandoned(conn, [target.id for target in targets], at=now)
    picked = [collector_for(TargetKind(t.kind), settings, collectors) for t in targets]
    run_ids = run_store.start_runs(conn, [
        (t.id, t.kind if isinstance(c, TargetOutcome) else c.name)
        for t, c in zip(targets, picked, strict=True)
    ], at=now)  # fmt: skip
    return [
        Claimed(target, run_ids[target.id], collector)
        for target, collector in zip(targets, picked, strict=True)
    ]


async def run_claimed(
    engine: Engine,
    settings: Settings,
    claimed: Claimed,
    matchers: Sequence[Matcher],
    *,
    clock: Clock = utcnow,
    rng: random.Random | None = None,
    stop: asyncio.Event | None = None,
) -> TargetResult:
    """Run a claimed target, then record how it ended and give up the claim (one
    transaction: the claim is held until the outcome and the next due time are stored)."""
    started, target, run_id = time.monotonic(), claimed.target, claimed.run_id
    with bind_run(target.locator, target.kind, run_id):
        if isinstance(claimed.collector, TargetOutcome):
            outcome = claimed.collector
        else:
            context = RunContext(engine, settings, run_id, matchers, stop)
            outcome = await _collect(claimed.collector, target, context, clock)
        finished = clock()
        failures = target.consecutive_failures + 1 if outcome.failed else 0
        due = next_due(
            outcome, finished=finished, interval_s=target.interval_s, failures=failures,
            rng=rng or random.Random(),  # noqa: S311  (jitter, not a secret)
        )  # fmt: skip
        with engine.begin() as conn:
            counts = run_store.finish_run(
                conn, run_id, status=outcome.status, error=outcome.message, at=finished
            )
            watchlist_store.record_crawl(
                conn, target.kind, target.locator, status=outcome.status, failed=outcome.failed,
                succeeded=outcome.succeeded, error=outcome.message, at=finished, next_due_at=due,
            )  # fmt: skip
            lease_store.release(conn, CLAIM_KIND, claim_key(target), OWNER)
        log.debug("target run", status=outcome.status, next_due_at=due.isoformat())
    return TargetResult(target, outcome, counts, time.monotonic() - started, run_id)


async def _collect(
    collector: Collector, target: TargetRow, run: RunContext, clock: Clock
) -> TargetOutcome:
    try:
        return await collector.collect(target, run)
    except RunStopped as exc:
        return TargetOutcome(RunStatus.DEFERRED, str(exc), retry_at=clock())
    except Exception as exc:  # one bad target must never stop the others
        log.exception("collector failed")
        return TargetOutcome(RunStatus.ERROR, redact_text(f"{type(exc).__name__}: {exc}"))
