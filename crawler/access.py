"""Who may do what: the one table of roles and their permissions.

Every front end asks `can(role, permission)`; no other module names a role's rights. The CLI
trusts the operating-system user who can run it with the database's credentials as an operator
(they could edit the database directly), so it checks only the commands that act on someone's
behalf (`--as NAME`); the web app will check every request.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from crawler.errors import UserError
from storage import user_store


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    INVESTIGATOR = "investigator"


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_BANKS = "manage_banks"
    MANAGE_RULES = "manage_rules"
    REVIEW_ALERTS = "review_alerts"
    """Claim, release and decide alerts, one by one or in bulk."""
    ASSIGN_ALERTS = "assign_alerts"
    """Release or reassign anyone's claim."""
    MANAGE_WATCHLISTS = "manage_watchlists"
    READ = "read"
    """See alerts, items and sources; search."""
    EXPORT = "export"


_READING = frozenset({Permission.READ, Permission.EXPORT})
_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.STAFF: _READING | {Permission.REVIEW_ALERTS, Permission.MANAGE_WATCHLISTS},
    # Investigators query what was collected; review decisions stay with staff.
    Role.INVESTIGATOR: _READING,
}


def can(role: Role | str, permission: Permission) -> bool:
    """Whether `role` has `permission`; an unknown role (a stored value from a newer
    version, a typo) has none."""
    try:
        return permission in _PERMISSIONS[Role(role)]
    except ValueError:
        return False


class AccessDenied(UserError):
    """The named user may not do this (unknown, disabled or without the permission)."""


def authorize(conn: Connection, name: str, permission: Permission) -> dict[str, Any]:
    """The named user, when it exists, is enabled and its role has `permission`; otherwise
    AccessDenied naming which of the three failed (the CLI's operator may know that)."""
    user = user_store.get_user(conn, name)
    if user is None:
        raise AccessDenied(
            f"no user {name!r}: create it first (chanwatch users add {name} --role staff)"
        )
    if not user["enabled"]:
        raise AccessDenied(f"user {name!r} is disabled")
    if not can(user["role"], permission):
        raise AccessDenied(f"user {name!r} ({user['role']}) may not {permission.value}")
    return user


MIN_PASSWORD = 12
MAX_PASSWORD = 1024
"""Bounded like every input: argon2 hashes any length, but a megabyte is no password."""
# PasswordHasher's defaults (argon2id, RFC 9106's second recommended parameters); when a later
# version raises them, `needs_rehash` tells the login to store a fresh hash.
_hasher = PasswordHasher()


def check_password_policy(password: str) -> None:
    if not password:
        raise UserError("the password is empty")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is shorter than {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password is longer than {MAX_PASSWORD} characters")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    """Whether `password` is the one `stored_hash` was made from (constant-time in argon2)."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """After a successful login: whether the hash predates the current parameters, so the
    login should store `hash_password(password)` in its place."""
    return _hasher.check_needs_rehash(stored_hash)
