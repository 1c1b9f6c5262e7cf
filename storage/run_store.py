"""Crawl runs: one row per target per run, with the counters ingest advanced."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, update

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


_START_RUNS = _runs.insert().returning(_runs.c.target_id, _runs.c.id)


def start_runs(
    conn: Connection, runs: Sequence[tuple[int, str]], *, at: datetime
) -> dict[int, int]:
    """Open a run for each (target id, collector) in one statement: target id -> run id."""
    if not runs:
        return {}
    rows = [
        {"target_id": target_id, "collector": collector, "account": None, "started_at": at}
        for target_id, collector in runs
    ]
    # Rows as parameters, not a multi-row VALUES: SQLAlchemy caches this statement's compiled
    # form (and batches the rows into one INSERT itself).
    return dict(conn.execute(_START_RUNS, rows).all())


# Built once: a statement's construction costs more than its (cached) compilation. (Parameter
# names unlike the columns': an UPDATE keeps those for its SET clause.)
_FINISH_RUN = (
    update(_runs)
    .where(_runs.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), error=bindparam("b_error"), finished_at=bindparam("b_at"))
    .returning(_runs.c.items_new, _runs.c.items_updated, _runs.c.items_gone, _runs.c.media_hashed)
)
_CLOSE_ABANDONED = (
    update(_runs)
    .where(
        _runs.c.target_id.in_(bindparam("b_target_ids", expanding=True)),
        _runs.c.finished_at.is_(None),
    )
    .values(
        status="abandoned", finished_at=bindparam("b_at"), error="the process running it stopped"
    )
)


def finish_run(
    conn: Connection, run_id: int, *, status: str, error: str | None, at: datetime
) -> RunCounts:
    params = {"b_id": run_id, "b_status": status, "b_error": error, "b_at": at}
    return RunCounts(*conn.execute(_FINISH_RUN, params).one())


def close_abandoned(conn: Connection, target_ids: Sequence[int], *, at: datetime) -> int:
    """Close the targets' runs still open: only a process that died mid-run leaves one (the
    caller holds the targets' claims, so nobody else is running them)."""
    params = {"b_target_ids": list(target_ids), "b_at": at}
    return conn.execute(_CLOSE_ABANDONED, params).rowcount
