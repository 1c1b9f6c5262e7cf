"""Scheduler throughput: how long a tick takes among 10,000 due targets, and how many target
runs per second `chanwatch run` dispatches (a no-op collector, so only scheduling is measured:
claim, crawl_run row, outcome, next due time, release), on SQLite and PostgreSQL.

Baseline in the same run: the cron-style loop the surveyed tools use — load every due target
as ORM objects, run one, commit its run row and its target, and load them all again.

    .venv/bin/python bench/scheduler.py [--targets 10000] [--runs 3000] [--baseline-runs 300]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Set
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session
from throwaway_db import postgres_engine, sqlite_engine

from crawler.collect import RunStatus, Sink, TargetOutcome
from crawler.jobs.clock import VirtualClock
from crawler.jobs.service import Scheduler
from crawler.locators import TargetKind
from crawler.logging import configure
from crawler.settings import Settings
from storage.models import CrawlRun, Target, Watchlist
from storage.watchlist_store import TargetRow

T0 = datetime(2026, 1, 5, tzinfo=UTC)


class Noop:
    name = "noop"

    def unavailable(self, settings: Settings) -> TargetOutcome | None:
        return None

    async def collect(self, target: TargetRow, run: Sink) -> TargetOutcome:
        return TargetOutcome(RunStatus.OK)


NOOP = {kind: Noop for kind in TargetKind}


class UntilDone(VirtualClock):
    """Stops the scheduler the first time it would wait with nothing running."""

    async def wait(
        self, seconds: float | None, running: Set[asyncio.Future[object]], stop: asyncio.Event
    ) -> None:
        if not running:
            stop.set()
            return
        await super().wait(seconds, running, stop)


def fill(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        list_id = conn.execute(
            insert(Watchlist).values(name="bench", created_at=T0).returning(Watchlist.id)
        ).scalar_one()
        conn.execute(
            insert(Target),
            [
                {"watchlist_id": list_id, "kind": "telegram", "locator": f"@room_{n:05d}",
                 "interval_s": 3600, "tags": [], "options": {}, "priority": 0, "enabled": True,
                 "added_at": T0, "consecutive_failures": 0}
                for n in range(count)
            ],
        )  # fmt: skip


def scheduler(engine: Engine, concurrency: int, clock: VirtualClock) -> Scheduler:
    settings = Settings(database_url=str(engine.url))
    return Scheduler(
        engine, settings, (), concurrency=concurrency, clock=clock, rng=random.Random(1),
        chores=(), collectors=NOOP,
    )  # fmt: skip


def tick_ms(engine: Engine, ticks: int = 30) -> dict[str, float]:
    """One tick picks and claims the next free slots among every due target; the runs it
    starts are left unawaited, so each tick faces the full backlog."""

    async def measure() -> list[float]:
        times = []
        for n in range(ticks):
            clock = VirtualClock(T0 + timedelta(seconds=n))
            sched = scheduler(engine, 16, clock)
            started = time.perf_counter()
            sched.tick()
            times.append((time.perf_counter() - started) * 1000)
            for task in list(sched._running.tasks.values()):
                task.cancel()
            await asyncio.gather(*sched._running.tasks.values(), return_exceptions=True)
        return times

    times = asyncio.run(measure())
    return {"p50": round(statistics.median(times), 2), "max": round(max(times), 2)}


def dispatch(engine: Engine, runs: int) -> float:
    """Runs per second dispatched through claim, run_target and release."""
    with engine.connect() as conn:
        ids = conn.execute(select(Target.id).order_by(Target.id).limit(runs)).scalars().all()
    with engine.begin() as conn:
        conn.execute(
            Target.__table__.update().values(next_due_at=T0 + timedelta(days=1))
        )
        conn.execute(
            Target.__table__.update().where(Target.id.in_(ids)).values(next_due_at=None)
        )
    sched = scheduler(engine, 16, UntilDone(T0))
    started = time.perf_counter()
    asyncio.run(sched.serve())
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        done = conn.execute(select(CrawlRun.id).where(CrawlRun.status == "ok")).all()
    assert len(done) >= runs, (len(done), runs)
    return runs / elapsed


def baseline(engine: Engine, runs: int) -> float:
    with engine.begin() as conn:
        conn.execute(Target.__table__.update().values(next_due_at=None))
    started = time.perf_counter()
    with Session(engine) as session:
        for _ in range(runs):
            due = session.scalars(
                select(Target).where(Target.enabled, Target.next_due_at.is_(None))
            ).all()
            target = due[0]
            now = datetime.now(UTC)
            run = CrawlRun(target_id=target.id, collector="noop", started_at=now)
            session.add(run)
            session.commit()
            run.status, run.finished_at = "ok", datetime.now(UTC)
            target.last_status, target.next_due_at = "ok", now + timedelta(hours=1)
            session.commit()
    return runs / (time.perf_counter() - started)


def measure(engine: Engine, targets: int, runs: int, baseline_runs: int) -> dict[str, object]:
    fill(engine, targets)
    ticks = tick_ms(engine)
    rate = dispatch(engine, runs)
    naive = baseline(engine, baseline_runs)
    return {"tick_ms": ticks, "runs_per_s": round(rate), "baseline_runs_per_s": round(naive, 1),
            "speedup": round(rate / naive, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3_000)
    parser.add_argument("--baseline-runs", type=int, default=300)
    args = parser.parse_args()
    configure("warning")
    figures: dict[str, object] = {"targets": args.targets}
    with tempfile.TemporaryDirectory() as folder:
        engine = sqlite_engine(folder, "scheduler")
        figures["sqlite"] = measure(engine, args.targets, args.runs, args.baseline_runs)
        engine.dispose()
        print("sqlite", figures["sqlite"], flush=True)
    with postgres_engine() as engine:
        figures["postgres"] = measure(engine, args.targets, args.runs, args.baseline_runs)
        print("postgres", figures["postgres"], flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
