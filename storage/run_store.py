"""Crawl runs: one row per target per run, with the counters ingest advanced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from storage.models import CrawlRun

_runs = CrawlRun.__table__


@dataclass(frozen=True, slots=True)
class RunCounts:
    items_new: int
    items_updated: int
    items_gone: int
    media_hashed: int


def start_run(
    conn: Connection, *, target_id: int | None, collector: str, account: str | None, at: datetime
) -> int:
    return conn.execute(
        _runs.insert()
        .values(target_id=target_id, collector=collector, account=account, started_at=at)
        .returning(_runs.c.id)
    ).scalar_one()


def finish_run(
    conn: Connection, run_id: int, *, status: str, error: str | None, at: datetime
) -> RunCounts:
    conn.execute(
        update(_runs).where(_runs.c.id == run_id).values(status=status, error=error, finished_at=at)
    )
    row = conn.execute(
        select(
            _runs.c.items_new, _runs.c.items_updated, _runs.c.items_gone, _runs.c.media_hashed
        ).where(_runs.c.id == run_id)
    ).one()
    return RunCounts(*row)


def close_abandoned(conn: Connection, target_id: int, *, at: datetime) -> int:
    """Close the target's runs still open: only a process that died mid-run leaves one (the
    caller holds the target's claim, so nobody else is running it)."""
    return conn.execute(
        update(_runs)
        .where(_runs.c.target_id == target_id, _runs.c.finished_at.is_(None))
        .values(status="abandoned", finished_at=at, error="the process running it stopped")
    ).rowcount
