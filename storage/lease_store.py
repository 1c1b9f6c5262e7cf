"""Leases: one holder at a time per (kind, key), taken and renewed atomically in the database.

A lease past its `until`, or held by a process its caller judges gone (a crashed process on the
same host), may be taken over; a holder that cannot renew must stop before `until` (see
crawler/owner.py), which is what makes taking over an expired lease safe across hosts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update

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


def acquire_many(
    conn: Connection,
    kind: str,
    keys: Sequence[str],
    owner: str,
    *,
    now: datetime,
    ttl: timedelta,
    holder_gone: Callable[[str], bool],
) -> set[str]:
    """`acquire` for many keys in one statement; returns the keys now held by `owner`.

    Free, expired or already-ours leases are taken by one upsert whose update applies only to
    those; the rest are looked at one by one only when their holder may be a dead process.
    """
    if not keys:
        return set()
    until = now + ttl
    rows = [{"kind": kind, "key": key, "owner": owner, "until": until} for key in keys]
    stmt = dialect_insert(conn, _leases).values(rows)
    taken = set(
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["kind", "key"],
                set_={"owner": owner, "until": until},
                where=or_(_leases.c.until <= now, _leases.c.owner == owner),
            ).returning(_leases.c.key)
        ).scalars()
    )
    held = conn.execute(
        select(_leases.c.key, _leases.c.owner).where(
            _leases.c.kind == kind, _leases.c.key.in_([k for k in keys if k not in taken])
        )
    ).all()
    for key, holder in held:
        if holder_gone(holder) and acquire(
            conn, kind, key, owner, now=now, ttl=ttl, holder_gone=holder_gone
        ) is None:
            taken.add(key)
    return taken


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
