"""Which account a target runs on: not flood-waiting, and its session leased to this process.

Two processes on one auth key get the key revoked by Telegram, so the lease (kind
`telegram_key`) is keyed by the key id (two account names may hold one key) and taken
atomically in the database. A lease of a process that died on this host is taken over at once;
any other lapses after `telegram.lease_seconds` unless renewed, and a holder whose renewal fails
stops using the key at half that time (crawler/owner.py), so two hosts never use one key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crawler.logging import get_logger
from crawler.owner import Fence, LeaseLostError, holder_gone, task_owner
from crawler.settings import TelegramAccount, TelegramSettings
from crawler.telegram.client import session_key_id
from storage import lease_store
from storage import telegram_store as store

LEASE_KIND = "telegram_key"
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Lease:
    account: store.AccountRow
    session: str
    auth_key_id: str
    owner: str
    """This run as the key's holder: another run of the same process is another holder."""
    fence: Fence = field(compare=False)

    def check(self) -> None:
        """Raise LeaseLostError when the lease may have lapsed: stop using the key."""
        self.fence.check(f"account {self.account.name}")


BUSY_RETRY = timedelta(seconds=30)
"""When every account is leased elsewhere, ask again this soon: runs end much sooner than
their leases, which only bound how long a vanished holder blocks a key."""


@dataclass(frozen=True, slots=True)
class NoneFree:
    """Why no account can take a target now, and when one may."""

    reason: str
    retry_at: datetime | None


def acquire(engine: Engine, telegram: TelegramSettings, now: datetime) -> Lease | NoneFree:
    """The first configured account that is free, or why none is and when to ask again."""
    reasons, retry = [], []
    for configured in telegram.accounts:
        lease, reason, free_at = _try(engine, configured, telegram, now)
        if lease is not None:
            return lease
        reasons.append(reason)
        if free_at is not None:
            retry.append(free_at)
    reason = "; ".join(reasons) or "no Telegram account configured"
    return NoneFree(reason, min(retry, default=None))


def _try(
    engine: Engine, configured: TelegramAccount, telegram: TelegramSettings, now: datetime
) -> tuple[Lease | None, str, datetime | None]:
    session = configured.resolve_session()
    key_id, owner = session_key_id(session), task_owner()
    with engine.begin() as conn:
        account = store.ensure_account(conn, configured.name, key_id)
        if account.flood_until is not None and account.flood_until > now:
            until = account.flood_until.isoformat(timespec="seconds")
            reason = f"account {configured.name} is flood-waiting until {until}"
            return None, reason, account.flood_until
        if account.status == "unauthorized":
            return None, f"account {configured.name} is not authorized (run telegram login)", None
        holder = lease_store.acquire(
            conn, LEASE_KIND, key_id, owner, now=now,
            ttl=timedelta(seconds=telegram.lease_seconds), holder_gone=holder_gone,
        )  # fmt: skip
    if holder is not None:
        reason = f"account {configured.name}: its session is in use by another process"
        return None, reason, now + BUSY_RETRY
    return Lease(account, session, key_id, owner, Fence(telegram.lease_seconds)), "", None


def renew(engine: Engine, lease: Lease, telegram: TelegramSettings) -> None:
    """Extend the lease before the next page. Raise LeaseLostError (stop using the key) if
    another process took it over, or if renewing failed for so long that it might have."""
    try:
        with engine.begin() as conn:
            holder = lease_store.acquire(
                conn, LEASE_KIND, lease.auth_key_id, lease.owner, now=datetime.now(UTC),
                ttl=timedelta(seconds=telegram.lease_seconds), holder_gone=holder_gone,
            )  # fmt: skip
    except SQLAlchemyError:
        lease.check()  # a passing database fault: carry on while the lease surely holds
        log.warning("lease renewal failed", account=lease.account.name)
        return
    if holder is not None:
        raise LeaseLostError(f"account {lease.account.name}: lease taken over by another process")
    lease.fence.renewed()


def release(engine: Engine, lease: Lease) -> None:
    with engine.begin() as conn:
        lease_store.release(conn, LEASE_KIND, lease.auth_key_id, lease.owner)


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

