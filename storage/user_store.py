"""Review-app users: the narrow interface the CLI (and later the web app) use. Password
hashes go in and come out only through `password_hash`; listings never carry them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from storage.models.operations import User

_users = User.__table__
_PUBLIC = [c for c in _users.c if c.name != "password_hash"]


class UserExists(Exception):
    """A user of that name is already stored."""


def add_user(conn: Connection, name: str, role: str, password_hash: str, at: datetime) -> int:
    """Insert an enabled user and return its id; UserExists when the name is taken (the
    transaction is then unusable on PostgreSQL: end it)."""
    values = {"name": name, "role": role, "password_hash": password_hash, "enabled": True,
              "created_at": at, "updated_at": at}  # fmt: skip
    try:
        return conn.execute(_users.insert().returning(_users.c.id), values).scalar_one()
    except IntegrityError:  # the caller's transaction is lost with it: let it roll back
        raise UserExists(name) from None


def get_user(conn: Connection, name: str) -> dict[str, Any] | None:
    """The user without its password hash, or None."""
    row = conn.execute(select(*_PUBLIC).where(_users.c.name == name)).one_or_none()
    return None if row is None else dict(row._mapping)


def password_hash(conn: Connection, name: str) -> str | None:
    return conn.execute(
        select(_users.c.password_hash).where(_users.c.name == name)
    ).scalar_one_or_none()


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Every user by name, without password hashes."""
    return [dict(row._mapping) for row in conn.execute(select(*_PUBLIC).order_by(_users.c.name))]


def update_user(conn: Connection, name: str, values: dict[str, Any], at: datetime) -> bool:
    """Set `values` (enabled, role, password_hash) on the named user; False when none."""
    changed = conn.execute(
        update(_users).where(_users.c.name == name).values(**values, updated_at=at)
    )
    return changed.rowcount == 1
