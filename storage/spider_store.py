"""Spider state between runs: one JSON document per key, replaced whole.

The spiders write their state only after the observations it describes are committed, so a
crash between the two repeats work instead of skipping it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import SpiderState

_state = SpiderState.__table__


def load(conn: Connection, key: str) -> tuple[dict[str, Any], datetime] | None:
    """The document stored under `key` and when it was written, or None."""
    row = conn.execute(
        select(_state.c.state, _state.c.updated_at).where(_state.c.key == key)
    ).one_or_none()
    return (dict(row.state), row.updated_at) if row is not None else None


def save(conn: Connection, key: str, state: dict[str, Any], at: datetime) -> None:
    """Replace the document under `key`, whoever else is saving it: the last save wins.

    One atomic upsert. Delete-then-insert raced on PostgreSQL: two processes sharing a key
    (robots.txt of one origin, a page's paging state) both found no row to delete, and the
    second insert failed on the key — a healthy robots.txt read as `robots_disallowed`.
    """
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(_state).values(key=key, state=state, updated_at=at)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[_state.c.key],
            set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
        )
    )
