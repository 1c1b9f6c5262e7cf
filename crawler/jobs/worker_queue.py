"""The workers' queue beyond Procrastinate's own API: where it lives, how due targets enter it,
how deep it is.

Due targets are queued in the same transaction that postpones them: a worker that dies between
the two leaves neither done, so a target is never both postponed and unqueued (which would hide
it for a whole interval) nor queued twice by two ticks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from procrastinate import SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from procrastinate.tasks import Task
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from crawler.crawl import distinct_crawls
from crawler.jobs.schedule import site_of
from crawler.locators import CRAWLABLE_KINDS
from crawler.settings import Settings
from storage import job_queue, watchlist_store
from storage.watchlist_store import TargetRow

KINDS = [kind.value for kind in CRAWLABLE_KINDS]


def conninfo(database_url: str) -> str:
    """libpq's connection string for our SQLAlchemy URL (`postgresql+psycopg://…`)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the job queue lives in PostgreSQL only")
    params: dict[str, object] = url.translate_connect_args(username="user", database="dbname")
    # Query options (sslmode, a socket directory as host, …) are libpq keywords already.
    params.update(_single(url.query))
    return make_conninfo(**{key: str(value) for key, value in params.items()})


def _single(query: Mapping[str, str | tuple[str, ...]]) -> dict[str, str]:
    return {key: value if isinstance(value, str) else value[-1] for key, value in query.items()}


def target_locks(target: TargetRow, settings: Settings) -> dict[str, str]:
    """A locator on two watchlists waits in the queue once; spider runs take their site's lock,
    so one site serves one run at a time across every worker (Telegram runs are spread by the
    account leases instead)."""
    locks = {"queueing_lock": f"target:{target.kind}:{target.locator}"}
    site = site_of(target, settings)
    if site is not None:
        locks["lock"] = f"site:{site}"
    return locks


def crawl_args(target: TargetRow, queued: datetime) -> dict[str, int | str]:
    """The job's arguments; `queued` tells a job from before the target's latest run (stale)."""
    return {
        "target_id": target.id,
        "kind": target.kind,
        "locator": target.locator,
        "queued": queued.isoformat(),
    }


def queue_due(
    engine: Engine, settings: Settings, crawl: Task[Any, Any, Any], now: datetime, limit: int
) -> int:
    """Queue a `crawl` job for each (kind, locator) due at `now`, postponing it by its interval
    (the run records the real next due time); how many jobs were added."""
    # Used only with our own connection, so it never opens a pool of its own.
    manager = JobManager(SyncPsycopgConnector())
    with engine.begin() as conn:
        due = distinct_crawls(watchlist_store.due_targets(conn, now, kinds=KINDS, limit=limit))
        if not due:
            return 0
        # A target still waiting from an earlier tick is postponed too: its job runs once, and
        # the postponement keeps it from crowding out the others at the head of the query.
        watchlist_store.postpone_many(conn, [
            (target.kind, target.locator, now + timedelta(seconds=target.interval_s))
            for target in due
        ])  # fmt: skip
        jobs = [
            crawl.configure(**target_locks(t, settings), task_kwargs=crawl_args(t, now)).job
            for t in due
        ]
        driver = conn.connection.driver_connection
        # One insert for the batch: Procrastinate fails all of it on a single AlreadyEnqueued,
        # so the targets still waiting are left out first.
        waiting = job_queue.waiting_locks(conn, [job.queueing_lock or "" for job in jobs])
        jobs = [job for job in jobs if job.queueing_lock not in waiting]
        if not jobs:
            return 0
        try:
            with conn.begin_nested():
                manager.batch_defer_jobs(jobs, connection=driver)
            return len(jobs)
        except AlreadyEnqueued:
            # Queued meanwhile (a crawl job deferring itself again): one by one, then.
            return _defer_each(conn, manager, jobs)


def _defer_each(conn: Connection, manager: JobManager, jobs: list[Job]) -> int:
    added = 0
    driver = conn.connection.driver_connection
    for job in jobs:
        try:
            with conn.begin_nested():
                manager.defer_job(job, connection=driver)
            added += 1
        except AlreadyEnqueued:
            pass  # still waiting from an earlier tick: it runs once
    return added
