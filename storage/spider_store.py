"""Spider state between runs: one JSON document per key, replaced whole.

The spiders write their state only after the observations it describes are committed, so a
crash between the two repeats work instead of skipping it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from storage.models import SpiderState

_state = SpiderState.__table__


def load(conn: Connection, key: str) -> tuple[dict[str, Any], datetime] | None:
    """The document stored under `key` and when it was written, or None."""
    row = conn.execute(
        select(_state.c.state, _state.c.updated_at).where(_state.c.key == key)
    ).one_or_none()
    return (dict(row.state), row.updated_at) if row is not None else None


def save(conn: Connection, key: str, state: dict[str, Any], at: datetime) -> None:
    """Replace the document under `key` (delete + insert: portable across both databases)."""
    conn.execute(delete(_state).where(_state.c.key == key))
    conn.execute(insert(_state).values(key=key, state=state, updated_at=at))
