"""`chanwatch run`: the one-process scheduler, for SQLite and PostgreSQL alike.

Each tick starts the due targets that fit: at most `concurrency` runs overall, one per web site
(the spiders' politeness holds across runs), no more Telegram runs than configured accounts (a
run takes an account's key lease for its duration), never a target twice (its claim, which
also keeps other processes off it). When nothing fits or nothing is due, it waits on its clock
until the next due time, the end of a run, or a stop. Housekeeping chores run on their own
periods beside the crawls.

A first SIGTERM or SIGINT stops new runs; running ones finish the page they are on (bounded by
the grace period), commit, and the process exits 0. A second signal exits at once: what was
committed stays, and the runs left open are closed as abandoned by whoever claims them next.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from crawler.collectors import COLLECTORS, CollectorFactory
from crawler.ingest import Matcher
from crawler.jobs.clock import Clock, WallClock
from crawler.jobs.housekeeping import CHORES, Periodic
from crawler.jobs.metrics import Metrics
from crawler.jobs.runner import Claimed, TargetResult, claim_key, run_claimed, start
from crawler.jobs.schedule import site_of
from crawler.locators import CRAWLABLE_KINDS, TargetKind
from crawler.logging import get_logger
from crawler.settings import Settings
from storage import watchlist_store
from storage.watchlist_store import TargetRow

log = get_logger(__name__)

KINDS = [kind.value for kind in CRAWLABLE_KINDS]
IDLE_WAIT_S = 60.0
"""Longest wait with nothing due: targets added meanwhile are noticed this soon."""


@dataclass
class _Running:
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    """By claim key."""
    sites: set[str] = field(default_factory=set)
    telegram: int = 0


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        matchers: Sequence[Matcher],
        *,
        concurrency: int = 4,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        chores: Sequence[Periodic] = CHORES,
        on_result: Callable[[TargetResult], None] | None = None,
        collectors: Mapping[TargetKind, CollectorFactory] = COLLECTORS,
    ) -> None:
        self.engine, self.settings, self.matchers = engine, settings, matchers
        self.concurrency = concurrency
        self.clock = clock or WallClock()
        self.rng = rng or random.Random()  # noqa: S311  (jitter, not a secret)
        self.metrics = metrics
        self.chores = chores
        self.on_result = on_result
        self.collectors = collectors
        self.stop_starting = asyncio.Event()
        """Set on the first signal: no new runs, no new chores."""
        self.stop_runs = asyncio.Event()
        """Set with it: running collectors finish their current page and return."""
        self._running = _Running()
        self._chores: dict[str, asyncio.Task[None]] = {}
        self._chore_due: dict[str, datetime] = {}

    # -- the loop ---------------------------------------------------------------------------

    async def serve(self, grace_s: float = 30.0) -> None:
        """Schedule until `stop()`, then let running work finish within `grace_s`."""
        while not self.stop_starting.is_set():
            wait = self.tick()
            pending = {*self._running.tasks.values(), *self._chores.values()}
            await self.clock.wait(wait, pending, self.stop_starting)
        await self._drain(grace_s)

    def stop(self) -> None:
        self.stop_starting.set()
        self.stop_runs.set()

    def tick(self) -> float | None:
        """Start what is due and fits; return seconds until something may be due next."""
        now = self.clock.now()
        self._start_chores(now)
        started = self._start_due(now)
        if self.metrics is not None:
            self.metrics.set_queue_depth(self._backlog(now))
        if started and len(self._running.tasks) < self.concurrency:
            return 0.0  # more may fit right away (the query's limit, skipped sites)
        with self.engine.connect() as conn:
            upcoming = watchlist_store.next_due_at(conn, now, kinds=KINDS)
        times = [t for t in (upcoming, *self._chore_due.values()) if t is not None]
        if not times:
            return IDLE_WAIT_S
        return min(IDLE_WAIT_S, max((min(times) - now).total_seconds(), 0.0))

    def _start_due(self, now: datetime) -> int:
        free = self.concurrency - len(self._running.tasks)
        if free <= 0:
            return 0
        with self.engine.connect() as conn:
            # Room for the ones skipped below (running, busy site or account pool).
            limit = free * 4 + len(self._running.tasks)
            due = watchlist_store.due_targets(conn, now, kinds=KINDS, limit=limit)
        picked: list[TargetRow] = []
        sites, telegram = set(self._running.sites), self._running.telegram
        for target in due:
            if len(picked) == free:
                break
            if self._fits(target, sites, telegram):
                picked.append(target)
                site = site_of(target, self.settings)
                if site is not None:
                    sites.add(site)
                telegram += target.kind == TargetKind.TELEGRAM
        # One transaction claims them all and opens their runs.
        claimed = start(self.engine, picked, self.settings, now, collectors=self.collectors)
        for one in claimed:
            self._launch(one)
        return len(claimed)

    def _fits(self, target: TargetRow, sites: set[str], telegram: int) -> bool:
        if claim_key(target) in self._running.tasks:
            return False
        site = site_of(target, self.settings)
        if site is not None and site in sites:
            return False
        accounts = len(self.settings.telegram.accounts)
        pool_full = bool(accounts) and telegram >= accounts
        return not (target.kind == TargetKind.TELEGRAM and pool_full)

    def _launch(self, claimed: Claimed) -> None:
        target = claimed.target
        running, key, site = self._running, claim_key(target), site_of(target, self.settings)
        if site is not None:
            running.sites.add(site)
        telegram = target.kind == TargetKind.TELEGRAM
        running.telegram += telegram

        async def run() -> None:
            try:
                result = await run_claimed(
                    self.engine, self.settings, claimed, self.matchers, clock=self.clock.now,
                    rng=self.rng, stop=self.stop_runs,
                )  # fmt: skip
                self._record(result)
            finally:
                running.tasks.pop(key, None)
                running.sites.discard(site or "")
                running.telegram -= telegram

        running.tasks[key] = asyncio.ensure_future(run())

    def _record(self, result: TargetResult) -> None:
        if self.metrics is not None:
            self.metrics.record_result(result)
        if self.on_result is not None:
            self.on_result(result)

    def _backlog(self, now: datetime) -> int:
        with self.engine.connect() as conn:
            return watchlist_store.count_due(conn, now, kinds=KINDS) - len(self._running.tasks)

    # -- housekeeping -----------------------------------------------------------------------

    def _start_chores(self, now: datetime) -> None:
        for periodic in self.chores:
            due = self._chore_due.setdefault(periodic.name, now)
            if due > now or periodic.name in self._chores:
                continue
            self._chore_due[periodic.name] = now + periodic.every
            self._chores[periodic.name] = asyncio.ensure_future(self._chore(periodic, now))

    async def _chore(self, periodic: Periodic, now: datetime) -> None:
        try:
            await periodic.chore(self.engine, self.settings, now)
        except Exception:  # a failing chore is logged and tried again next period
            log.exception("housekeeping failed", chore=periodic.name)
        finally:
            self._chores.pop(periodic.name, None)

    # -- stopping ---------------------------------------------------------------------------

    async def _drain(self, grace_s: float) -> None:
        self.stop_runs.set()
        pending = {*self._running.tasks.values(), *self._chores.values()}
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


def install_signals(scheduler: Scheduler) -> None:
    """First SIGTERM/SIGINT: stop gracefully. Second: exit now (committed data is safe)."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if scheduler.stop_starting.is_set():
            log.warning("second signal: exiting now")
            os._exit(1)
        log.warning("stopping: no new runs; running ones finish their current page")
        scheduler.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
