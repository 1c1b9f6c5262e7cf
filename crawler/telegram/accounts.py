"""Which account a target runs on: not flood-waiting, and its session leased to this process.

Two processes on one auth key get the key revoked by Telegram, so the lease is keyed by the
key id (two account names may hold one key) and taken atomically in the database. A lease of a
process that died on this host is taken over at once; any other lapses after
`telegram.lease_seconds` unless renewed.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from crawler.settings import TelegramAccount, TelegramSettings
from crawler.telegram.client import session_key_id
from storage import telegram_store as store

_HOST = socket.gethostname()
OWNER = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
"""This process as a lease holder."""


@dataclass(frozen=True, slots=True)
class Lease:
    account: store.AccountRow
    session: str
    auth_key_id: str


def holder_gone(owner: str) -> bool:
    """True when `owner` is a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(engine: Engine, telegram: TelegramSettings, now: datetime) -> Lease | str:
    """The first configured account that is free, or why none is."""
    reasons = []
    for configured in telegram.accounts:
        lease, reason = _try(engine, configured, telegram, now)
        if lease is not None:
            return lease
        reasons.append(reason)
    return "; ".join(reasons) or "no Telegram account configured"


def _try(
    engine: Engine, configured: TelegramAccount, telegram: TelegramSettings, now: datetime
) -> tuple[Lease | None, str]:
    session = configured.resolve_session()
    key_id = session_key_id(session)
    with engine.begin() as conn:
        account = store.ensure_account(conn, configured.name, key_id)
        if account.flood_until is not None and account.flood_until > now:
            until = account.flood_until.isoformat(timespec="seconds")
            return None, f"account {configured.name} is flood-waiting until {until}"
        if account.status == "unauthorized":
            return None, f"account {configured.name} is not authorized (run telegram login)"
        holder = store.acquire_lease(
            conn, key_id, OWNER, now=now, ttl=timedelta(seconds=telegram.lease_seconds),
            holder_gone=holder_gone,
        )  # fmt: skip
    if holder is not None:
        return None, f"account {configured.name}: its session is in use by another process"
    return Lease(account, session, key_id), ""


def renew(engine: Engine, lease: Lease, telegram: TelegramSettings) -> None:
    """Extend the lease; raise if another process took it over meanwhile (stop using the key)."""
    with engine.begin() as conn:
        holder = store.acquire_lease(
            conn, lease.auth_key_id, OWNER, now=datetime.now(UTC),
            ttl=timedelta(seconds=telegram.lease_seconds), holder_gone=holder_gone,
        )  # fmt: skip
    if holder is not None:
        raise LeaseLostError(f"account {lease.account.name}: lease taken over by another process")


def release(engine: Engine, lease: Lease) -> None:
    with engine.begin() as conn:
        store.release_lease(conn, lease.auth_key_id, OWNER)


def park(engine: Engine, lease: Lease, seconds: int) -> datetime:
    """Record a long FLOOD_WAIT: the account is skipped until it is over."""
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    with engine.begin() as conn:
        store.set_flood(conn, lease.account.id, until)
    return until


def mark(engine: Engine, lease: Lease, status: str, error: str | None = None) -> None:
    with engine.begin() as conn:
        store.set_status(conn, lease.account.id, status, error)


def take_resolve(engine: Engine, lease: Lease, budget: int) -> bool:
    day = datetime.now(UTC).date().isoformat()
    with engine.begin() as conn:
        return store.take_resolve(conn, lease.account.id, day, budget)


class LeaseLostError(RuntimeError):
    pass
