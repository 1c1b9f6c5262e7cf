"""Leases: one holder at a time per (kind, key), taken and renewed atomically in the database.

A lease past its `until`, or held by a process its caller judges gone (a crashed process on the
same host), may be taken over; a holder that cannot renew must stop before `until` (see
crawler/owner.py), which is what makes taking over an expired lease safe across hosts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from storage.content_writes import dialect_insert
from storage.models.operations import Lease

_leases = Lease.__table__


def acquire(
    conn: Connection,
    kind: str,
    key: str,
    owner: str,
    *,
    now: datetime,
    ttl: timedelta,
    holder_gone: Callable[[str], bool],
) -> str | None:
    """Take or renew the lease for `owner`; None when it is ours now, else who holds it."""
    until = now + ttl
    where = (_leases.c.kind == kind, _leases.c.key == key)
    current = conn.execute(select(_leases.c.owner, _leases.c.until).where(*where)).first()
    if current is not None and current.owner != owner:
        if current.until > now and not holder_gone(current.owner):
            return current.owner
        # Take over only the exact lease judged stale: another process may take it first.
        taken = conn.execute(
            update(_leases)
            .where(*where, _leases.c.owner == current.owner, _leases.c.until == current.until)
            .values(owner=owner, until=until)
        )
        return None if taken.rowcount == 1 else current.owner
    stmt = dialect_insert(conn, _leases).values(kind=kind, key=key, owner=owner, until=until)
    # RETURNING rather than rowcount: psycopg reported -1 for this upsert through SQLAlchemy.
    held = conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "key"], set_={"until": until}, where=_leases.c.owner == owner
        ).returning(_leases.c.owner)
    ).scalar()
    if held == owner:
        return None
    return conn.execute(select(_leases.c.owner).where(*where)).scalar()


def release(conn: Connection, kind: str, key: str, owner: str) -> None:
    conn.execute(
        _leases.delete().where(
            _leases.c.kind == kind, _leases.c.key == key, _leases.c.owner == owner
        )
    )


def holder(conn: Connection, kind: str, key: str, now: datetime) -> str | None:
    return conn.execute(
        select(_leases.c.owner).where(
            _leases.c.kind == kind, _leases.c.key == key, _leases.c.until > now
        )
    ).scalar()


def held_keys(conn: Connection, kind: str, now: datetime) -> set[str]:
    """Keys of `kind` whose lease is in force."""
    return set(
        conn.execute(
            select(_leases.c.key).where(_leases.c.kind == kind, _leases.c.until > now)
        ).scalars()
    )
