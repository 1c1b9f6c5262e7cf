"""Leases: one holder at a time per (kind, key), taken and renewed atomically in the database.

A lease past its `until`, or held by a process its caller judges gone (a crashed process on the
same host), may be taken over; a holder that cannot renew must stop before `until` (see
crawler/owner.py), which is what makes taking over an expired lease safe across hosts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, TextClause, bindparam, select, text, update

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
    params = {"kind": kind, "owner": owner, "until": until, "now": now}
    params.update({f"key_{n}": key for n, key in enumerate(keys)})
    taken = set(conn.execute(_take(len(keys)), params).scalars())
    left = [key for key in keys if key not in taken]
    if not left:
        return taken
    held = conn.execute(
        select(_leases.c.key, _leases.c.owner).where(
            _leases.c.kind == kind, _leases.c.key.in_(left)
        )
    ).all()
    for key, holder in held:
        if holder_gone(holder) and acquire(
            conn, kind, key, owner, now=now, ttl=ttl, holder_gone=holder_gone
        ) is None:
            taken.add(key)
    return taken


@functools.lru_cache(maxsize=64)
def _take(count: int) -> TextClause:
    """The upsert of `acquire_many` for `count` keys. Plain SQL both databases accept: the
    dialects' `insert` with ON CONFLICT is never cached, so SQLAlchemy compiled it on every
    call; this is compiled once per count."""
    rows = ", ".join(f"(:kind, :key_{n}, :owner, :until)" for n in range(count))
    until = _leases.c.until.type
    return text(
        f"INSERT INTO lease (kind, key, owner, until) VALUES {rows}"  # noqa: S608 (no input)
        " ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner, until = excluded.until"
        " WHERE lease.until <= :now OR lease.owner = excluded.owner RETURNING key"
    ).bindparams(bindparam("until", type_=until), bindparam("now", type_=until))


# Built once: a statement's construction costs more than its (cached) compilation.
_RELEASE = _leases.delete().where(
    _leases.c.kind == bindparam("kind"),
    _leases.c.key == bindparam("key"),
    _leases.c.owner == bindparam("owner"),
)


def release(conn: Connection, kind: str, key: str, owner: str) -> None:
    conn.execute(_RELEASE, {"kind": kind, "key": key, "owner": owner})


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
