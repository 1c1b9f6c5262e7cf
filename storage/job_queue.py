"""What chanwatch reads from Procrastinate's job table (installed by storage/migrate.py): which
crawls already wait in the queue, and how many jobs wait in all."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, bindparam, text

_WAITING = text(
    "SELECT queueing_lock FROM procrastinate_jobs"
    " WHERE status = 'todo' AND queueing_lock IN :locks"
).bindparams(bindparam("locks", expanding=True))


def waiting_locks(conn: Connection, queueing_locks: Sequence[str]) -> set[str]:
    """Which of these queueing locks a job waiting in the queue (`todo`) holds."""
    if not queueing_locks:
        return set()
    return set(conn.execute(_WAITING, {"locks": list(queueing_locks)}).scalars())


def todo_count(engine: Engine) -> int:
    """Jobs waiting in the queue (every task, due or scheduled later)."""
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
        ).scalar_one()
