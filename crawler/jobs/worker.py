"""`chanwatch worker`: the scheduling core on Procrastinate, for any number of processes and
machines sharing one PostgreSQL database.

Jobs:

- `enqueue_due` (periodic, every `worker.enqueue_every_s`): queues a `crawl_target` per due
  (kind, locator) and postpones it by its interval in the same transaction. The workers defer
  the periodic jobs themselves (Procrastinate lets one worker win each tick); there is no
  scheduler process.
- `crawl_target`: claims the target (crawler/jobs/runner.py), runs it, releases it. A claim held
  by a live process is left to it; one held by a dead process on this host is taken over at
  once, one from another host after the claim's TTL (the job comes back then).
- `retry_stalled` (periodic): jobs of a worker without a heartbeat for `worker.stalled_after_s`
  are queued again. Procrastinate only offers the query; nothing else would ever run them.
- the housekeeping chores (crawler/jobs/housekeeping.py), each on its own period.

Locks: a (kind, locator) waits in the queue at most once (`queueing_lock`); spider runs hold
their site's `lock`; Telegram runs rely on the account leases and come back `deferred` when
none is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.jobs import Status
from procrastinate.tasks import Task
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crawler.collectors import COLLECTORS, CollectorFactory
from crawler.ingest import Matcher
from crawler.jobs.housekeeping import CHORES, Periodic
from crawler.jobs.metrics import Metrics
from crawler.jobs.runner import Claimed, NotStarted, claim_ttl, run_claimed, start_queued
from crawler.jobs.worker_queue import (
    conninfo,
    crawl_args,
    queue_due,
    target_locks,
)
from crawler.locators import TargetKind
from crawler.logging import get_logger
from crawler.owner import OWNER
from crawler.settings import Settings
from storage import job_queue, watchlist_store
from storage.watchlist_store import TargetRow

log = get_logger(__name__)

CRAWL_TASK = "chanwatch.crawl_target"
CrawlTask = Task[Any, Any, Any]
P = ParamSpec("P")
R = TypeVar("R")
# Besides the jobs: the LISTEN connection, heartbeats, the periodic deferrer, abort polling.
_POOL_SPARE = 4


@dataclass
class Runtime:
    """What the jobs of one worker process share."""

    engine: Engine
    settings: Settings
    matchers: Sequence[Matcher]
    metrics: Metrics | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    """Set on SIGTERM/SIGINT: running collectors finish their page and return."""
    collectors: Mapping[TargetKind, CollectorFactory] = field(default_factory=lambda: COLLECTORS)
    """Which collector runs which kind (a benchmark passes a no-op one)."""


def cron_every(seconds: int) -> str:
    """A cron line firing every `seconds` (Procrastinate's 6th column is seconds)."""
    if seconds < 60:
        return f"* * * * * */{seconds}"
    if seconds % 60 == 0 and seconds < 3600:
        return f"*/{seconds // 60} * * * *"
    if seconds % 3600 == 0 and seconds < 86400:
        return f"0 */{seconds // 3600} * * *"
    raise ValueError(f"no cron line for every {seconds} s")


def utcnow() -> datetime:
    return datetime.now(UTC)


def build_app(runtime: Runtime, *, concurrency: int, chores: Sequence[Periodic] = CHORES) -> App:
    """The Procrastinate app of one worker process, its tasks bound to `runtime`."""
    settings = runtime.settings
    connector = PsycopgConnector(
        conninfo=conninfo(settings.database_url), min_size=1, max_size=concurrency + _POOL_SPARE
    )
    app = App(connector=connector)
    tick = cron_every(settings.worker.enqueue_every_s)

    @app.task(name=CRAWL_TASK)
    async def crawl_target(target_id: int, kind: str, locator: str, queued: str) -> str:
        return await _crawl(runtime, crawl_target, target_id, kind, locator, queued)

    # One at a time across workers (`lock`), and a tick that finds the last one still waiting
    # adds nothing (`queueing_lock`). A dead worker's tick holds the lock until retried.
    @app.periodic(cron=tick)
    @app.task(name="chanwatch.enqueue_due", lock="enqueue_due", queueing_lock="enqueue_due")
    async def enqueue_due(timestamp: int) -> int:
        limit = settings.worker.enqueue_batch
        return await asyncio.to_thread(
            queue_due, runtime.engine, settings, crawl_target, utcnow(), limit
        )

    # No `lock`: a dead worker's retry_stalled job would hold it, and only retry_stalled could
    # ever release it. Two at once are harmless (a job is retried once; the other gets an error).
    @app.periodic(cron=tick)
    @app.task(name="chanwatch.retry_stalled", queueing_lock="retry_stalled")
    async def retry_stalled(timestamp: int) -> int:
        return await _retry_stalled(app, settings.worker.stalled_after_s)

    for periodic in chores:
        name = f"chanwatch.chore.{periodic.name}"
        every = int(periodic.every.total_seconds())
        chore = app.task(name=name, lock=name, queueing_lock=name)(_chore(runtime, periodic))
        app.periodic(cron=cron_every(every), periodic_id=periodic.name)(chore)
    return app


def _chore(runtime: Runtime, periodic: Periodic) -> Callable[[int], Awaitable[None]]:
    async def run_chore(timestamp: int) -> None:
        await periodic.chore(runtime.engine, runtime.settings, utcnow())

    return run_chore


async def _crawl(
    runtime: Runtime, task: CrawlTask, target_id: int, kind: str, locator: str, queued: str
) -> str:
    engine, settings = runtime.engine, runtime.settings
    loaded = await _off_loop(_load_and_start, runtime, target_id, kind, locator, queued)
    if loaded is None:
        return "not watched (removed or disabled since queued)"
    target, now, started = loaded
    if started is NotStarted.BUSY:
        # A live holder is running it (and records the next due time, which makes this job
        # stale); a dead one on another host loses its claim after the TTL: come back then.
        await _defer_again(task, target, settings, queued, now + claim_ttl(settings))
        return started.value
    if isinstance(started, NotStarted):
        return started.value
    result = await run_claimed(engine, settings, started, runtime.matchers, stop=runtime.stop)
    if runtime.metrics is not None:
        runtime.metrics.record_result(result)
    return str(result.outcome.status)


async def _off_loop(call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Blocking database work in a thread: the other jobs' work goes on while it waits on
    PostgreSQL. A job cancelled meanwhile still waits for it to end, so nothing of a job runs
    on behind its back (the cancellation lands where it would have after a blocking call)."""
    work = asyncio.ensure_future(asyncio.to_thread(call, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise


def _load_and_start(
    runtime: Runtime, target_id: int, kind: str, locator: str, queued: str
) -> tuple[TargetRow, datetime, Claimed | NotStarted] | None:
    """`_load` then `start_queued` (one trip to a thread for both); None: not watched."""
    target = _load(runtime.engine, target_id, kind, locator)
    if target is None:
        return None
    now = utcnow()
    started = start_queued(
        runtime.engine, target, runtime.settings, now, datetime.fromisoformat(queued),
        collectors=runtime.collectors,
    )  # fmt: skip
    return target, now, started


def _load(engine: Engine, target_id: int, kind: str, locator: str) -> TargetRow | None:
    """The queued target, or another enabled row watching the same locator."""
    with engine.connect() as conn:
        rows = watchlist_store.list_targets(conn, locator=locator, kinds=[kind], enabled_only=True)
    return next((row for row in rows if row.id == target_id), rows[0] if rows else None)


async def _defer_again(
    task: CrawlTask, target: TargetRow, settings: Settings, queued: str, at: datetime
) -> None:
    args = crawl_args(target, datetime.fromisoformat(queued))
    with contextlib.suppress(AlreadyEnqueued):  # a newer job for this target already waits
        await task.configure(**target_locks(target, settings), schedule_at=at).defer_async(**args)


async def _retry_stalled(app: App, stalled_after_s: float) -> int:
    """Queue again the jobs of workers presumed dead; how many were retried."""
    manager = app.job_manager
    retried = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s):
        try:
            await manager.retry_job(job)
            retried += 1
            log.warning("job of a stalled worker retried", job_id=job.id, task=job.task_name)
        except UniqueViolation:
            # The same target (or tick) waits in the queue again already: that job does the
            # work, so this one only ends.
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
        except ConnectorException:
            # Another worker's retry_stalled got to it first.
            log.info("stalled job already handled", job_id=job.id)
    return retried


async def run_worker(app: App, runtime: Runtime, *, concurrency: int, grace_s: float) -> None:
    """Work until SIGTERM/SIGINT: then fetch nothing more, let running jobs finish their page
    (within `grace_s`) and return. A second signal exits at once."""
    worker = runtime.settings.worker
    async with app.open_async():
        running = asyncio.ensure_future(
            app.run_worker_async(
                name=OWNER, concurrency=concurrency, install_signal_handlers=False,
                fetch_job_polling_interval=worker.poll_s,
                update_heartbeat_interval=worker.heartbeat_s,
                stalled_worker_timeout=worker.stalled_after_s, shutdown_graceful_timeout=grace_s,
                delete_jobs="successful",  # the queue holds work, not history (crawl_run does)
            )
        )  # fmt: skip
        _install_signals(runtime, running)
        try:
            await running
        except asyncio.CancelledError:
            # Cancelling run_worker_async is Procrastinate's graceful stop; anything else
            # cancelling us goes on up.
            if not runtime.stop.is_set():
                raise


def _install_signals(runtime: Runtime, running: asyncio.Future[None]) -> None:
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if runtime.stop.is_set():
            log.warning("second signal: exiting now")
            os._exit(1)
        log.warning("stopping: no new jobs; running ones finish their current page")
        runtime.stop.set()
        running.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)


class WorkerMetrics(Metrics):
    """Metrics whose queue depth is the job queue's, read when scraped: any worker reports the
    whole queue, whichever of them queued it."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._engine = engine

    def render(self) -> bytes:
        try:
            self.set_queue_depth(job_queue.todo_count(self._engine))
        except SQLAlchemyError as exc:
            # chanwatch_database_up says the database is gone; the depth keeps its last value.
            log.warning("queue depth read failed", error=exc.__class__.__name__)
        return super().render()
