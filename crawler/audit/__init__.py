"""The audit log: who did what, through which front end, recorded in a hash chain.

Every sign-in (failed ones too) and sign-out, review action (claim, release, assignment,
decision, bulk decision, a source revealed, a critical text read), watchlist change, rule or
bank import, bank switch and user change is recorded by `record` in the transaction that makes
the change, so the change and its record commit or roll back together. The chain itself, and
why it stays linear under concurrent writers, is storage/audit_store.py; signed checkpoints
and verification are crawler/audit/checkpoints.py.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from storage import audit_store

MAX_NAME = 100
MAX_SUBJECT = 300


class Via(StrEnum):
    CLI = "cli"
    WEB = "web"


class Action(StrEnum):
    ALERT_CLAIM = "alert.claim"
    ALERT_DECIDE = "alert.decide"
    ALERT_NEGATIVE_BANK = "alert.negative_bank"
    ALERT_RELEASE = "alert.release"
    ALERT_ASSIGN = "alert.assign"
    ALERT_BULK = "alert.bulk"
    ALERT_REVEAL_SOURCE = "alert.reveal_source"
    ALERT_READ_CRITICAL = "alert.read_critical"
    WATCHLIST_ADD = "watchlist.add"
    WATCHLIST_REMOVE = "watchlist.remove"
    WATCHLIST_ENABLE = "watchlist.enable"
    WATCHLIST_DISABLE = "watchlist.disable"
    WATCHLIST_IMPORT = "watchlist.import"
    RULES_IMPORT = "rules.import"
    BANK_IMPORT = "bank.import"
    BANK_ENABLE = "bank.enable"
    BANK_DISABLE = "bank.disable"
    USER_ADD = "user.add"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_PASSWD = "user.passwd"  # noqa: S105  (an action name)
    USER_ROLE = "user.role"
    USER_SETTINGS = "user.settings"
    LOGIN = "session.login"
    LOGIN_FAILED = "session.login_failed"
    LOGOUT = "session.logout"


def os_user() -> str:
    """The operating-system account running this process ("unknown" when it has no name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True, slots=True)
class Origin:
    """Through what an action came: the CLI names the OS account that ran it; the web app
    will name no OS account (its actor is the logged-in user)."""

    via: Via
    os_user: str | None

    @classmethod
    def local(cls) -> Origin:
        """This process's command line: the operator trusted with the database's credentials."""
        return cls(Via.CLI, os_user())


def record(
    conn: Connection,
    action: Action,
    subject: str,
    details: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
    origin: Origin | None = None,
) -> int:
    """Append one audit row in the caller's transaction; its sequence number.

    `actor` is the user acted for (`--as`, the web session); without one, the operator (the OS
    account) acts for themself. Without an origin, the action came through this process's
    command line."""
    origin = origin or Origin.local()
    who = actor if actor is not None else origin.os_user or "unknown"
    row = audit_store.append(
        conn, actor=who[:MAX_NAME], via=origin.via.value,
        os_user=origin.os_user[:MAX_NAME] if origin.os_user is not None else None,
        action=action.value, subject=subject[:MAX_SUBJECT], details=details or {},
    )  # fmt: skip
    return row["seq"]
