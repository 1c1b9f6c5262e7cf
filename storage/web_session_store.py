"""Review-app sessions and login throttling: the narrow interface crawler/web uses.

A session is found by the SHA-256 of the random id its cookie carries (the id itself is never
stored, so a copy of the table signs no one in), and only while it has not expired and its user
exists and is enabled: disabling a user or deleting the row ends the session at the next
request. Failures are rows, so a limit counted here holds across every serving process.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from storage.models.operations import LoginFailure, User, UserSession

_sessions, _failures, _users = UserSession.__table__, LoginFailure.__table__, User.__table__
MAX_ADDRESS = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def create_session(
    conn: Connection, token: str, user_id: int, *, at: datetime, expires_at: datetime,
    address: str | None,
) -> None:  # fmt: skip
    conn.execute(
        _sessions.insert(),
        {"token_hash": token_hash(token), "user_id": user_id, "created_at": at,
         "last_seen_at": at, "expires_at": expires_at,
         "address": address[:MAX_ADDRESS] if address else None},
    )  # fmt: skip


def session_user(
    conn: Connection, token: str, now: datetime, idle_after: datetime
) -> dict[str, Any] | None:
    """The session's user (id, name, role, show_critical) and the session's `last_seen_at`, or
    None when the session is unknown, expired, idle since before `idle_after`, or its user
    disabled."""
    row = conn.execute(
        select(_users.c.id, _users.c.name, _users.c.role, _users.c.show_critical,
               _sessions.c.last_seen_at, _sessions.c.id.label("session_id"))
        .join(_users, _users.c.id == _sessions.c.user_id)
        .where(_sessions.c.token_hash == token_hash(token), _sessions.c.expires_at > now,
               _sessions.c.last_seen_at > idle_after, _users.c.enabled.is_(True))
    ).one_or_none()  # fmt: skip
    return None if row is None else dict(row._mapping)


def touch(conn: Connection, session_id: int, at: datetime) -> None:
    conn.execute(update(_sessions).where(_sessions.c.id == session_id).values(last_seen_at=at))


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(_sessions).where(_sessions.c.token_hash == token_hash(token)))


def purge(conn: Connection, now: datetime, idle_after: datetime, failures_before: datetime) -> None:
    """Drop ended sessions and failures that no longer count: both would be ignored anyway,
    this keeps the tables small."""
    conn.execute(
        delete(_sessions).where(
            (_sessions.c.expires_at <= now) | (_sessions.c.last_seen_at <= idle_after)
        )
    )
    conn.execute(delete(_failures).where(_failures.c.at < failures_before))


def record_failure(conn: Connection, name: str, address: str, at: datetime) -> None:
    conn.execute(
        _failures.insert(), {"at": at, "name": name[:100], "address": address[:MAX_ADDRESS]}
    )


def failures_since(conn: Connection, name: str, address: str, since: datetime) -> tuple[int, int]:
    """(failures for this account name, failures from this address) since `since`."""

    def count(column: Any, value: str) -> int:
        query = select(func.count()).select_from(_failures)
        return conn.execute(query.where(column == value, _failures.c.at > since)).scalar_one()

    return count(_failures.c.name, name[:100]), count(_failures.c.address, address[:MAX_ADDRESS])


def forget_failures(conn: Connection, name: str, before: datetime) -> None:
    """After a successful login: that account's earlier failures no longer count against it
    (the address's do: one address guessing many accounts stays throttled)."""
    conn.execute(delete(_failures).where(_failures.c.name == name[:100], _failures.c.at < before))
