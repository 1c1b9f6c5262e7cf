"""What the Telegram collector keeps between runs: accounts, leases, peers and cursors.

Plain values in and out; nothing here knows Telethon. Content (items, sources' names) is written
by ingest only; this module holds the collector's own bookkeeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, or_, select, update

from storage.content_writes import dialect_insert
from storage.models import (
    CrawlRun,
    Item,
    Media,
    Source,
    Target,
    TelegramAccount,
    TelegramPeer,
)
from storage.models.operations import TelegramCursor

_accounts = TelegramAccount.__table__
_peers = TelegramPeer.__table__
_cursors = TelegramCursor.__table__
_sources = Source.__table__
_items = Item.__table__
_media = Media.__table__


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    name: str
    auth_key_id: str | None
    flood_until: datetime | None
    resolve_day: str | None
    resolves_today: int
    status: str | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Cursor:
    newest_id: int
    oldest_id: int | None
    history_complete: bool
    caught_up: bool = False


# -- accounts ---------------------------------------------------------------------------------


def ensure_account(conn: Connection, name: str, auth_key_id: str | None) -> AccountRow:
    """The account row for a configured name, created on first use; the key id follows the
    session currently configured under that name."""
    stmt = dialect_insert(conn, _accounts).values(name=name, auth_key_id=auth_key_id)
    # A new session under the name (a fresh login) clears what was said about the old one.
    same_key = _accounts.c.auth_key_id == auth_key_id
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "auth_key_id": auth_key_id,
                "status": case((same_key, _accounts.c.status), else_=None),
                "last_error": case((same_key, _accounts.c.last_error), else_=None),
            },
        )
    )
    row = conn.execute(select(_accounts).where(_accounts.c.name == name)).mappings().one()
    return _account(row)


def list_accounts(conn: Connection) -> list[AccountRow]:
    rows = conn.execute(select(_accounts).order_by(_accounts.c.name)).mappings()
    return [_account(row) for row in rows]


def _account(row: Any) -> AccountRow:
    return AccountRow(
        row["id"], row["name"], row["auth_key_id"], row["flood_until"], row["resolve_day"],
        row["resolves_today"] or 0, row["status"], row["last_error"],
    )  # fmt: skip


def set_flood(conn: Connection, account_id: int, until: datetime | None) -> None:
    conn.execute(update(_accounts).where(_accounts.c.id == account_id).values(flood_until=until))


def set_status(conn: Connection, account_id: int, status: str, error: str | None = None) -> None:
    conn.execute(
        update(_accounts)
        .where(_accounts.c.id == account_id)
        .values(status=status, last_error=error)
    )


def take_resolve(conn: Connection, account_id: int, day: str, budget: int) -> bool:
    """Count one username resolution against today's budget; False when it is spent."""
    # A new day starts at zero; the conditional increment below then decides.
    conn.execute(
        update(_accounts)
        .where(
            _accounts.c.id == account_id,
            or_(_accounts.c.resolve_day.is_(None), _accounts.c.resolve_day != day),
        )
        .values(resolve_day=day, resolves_today=0)
    )
    taken = conn.execute(
        update(_accounts)
        .where(_accounts.c.id == account_id, _accounts.c.resolves_today < budget)
        .values(resolves_today=_accounts.c.resolves_today + 1)
    )
    return taken.rowcount == 1


# -- peers, targets, sources ------------------------------------------------------------------


def source_id_for(conn: Connection, platform: str, platform_id: str) -> int | None:
    return conn.execute(
        select(_sources.c.id).where(
            _sources.c.platform == platform, _sources.c.platform_id == platform_id
        )
    ).scalar()


def source_platform_id(conn: Connection, source_id: int) -> str | None:
    return conn.execute(select(_sources.c.platform_id).where(_sources.c.id == source_id)).scalar()


def target_source(conn: Connection, target_id: int) -> int | None:
    return conn.execute(
        select(Target.__table__.c.source_id).where(Target.__table__.c.id == target_id)
    ).scalar()


def set_target_source(conn: Connection, target_id: int, source_id: int) -> None:
    targets = Target.__table__
    conn.execute(update(targets).where(targets.c.id == target_id).values(source_id=source_id))


def peer_access_hash(conn: Connection, account_id: int, source_id: int) -> int | None:
    return conn.execute(
        select(_peers.c.access_hash).where(
            _peers.c.account_id == account_id, _peers.c.source_id == source_id
        )
    ).scalar()


def save_peer(
    conn: Connection, account_id: int, source_id: int, access_hash: int, at: datetime
) -> None:
    stmt = dialect_insert(conn, _peers).values(
        account_id=account_id, source_id=source_id, access_hash=access_hash, resolved_at=at
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_id", "source_id"],
            set_={"access_hash": access_hash, "resolved_at": at},
        )
    )


# -- cursors and the re-check window ----------------------------------------------------------


def cursor(conn: Connection, source_id: int) -> Cursor | None:
    row = conn.execute(
        select(
            _cursors.c.newest_id,
            _cursors.c.oldest_id,
            _cursors.c.history_complete,
            _cursors.c.caught_up,
        ).where(_cursors.c.source_id == source_id)
    ).first()
    return None if row is None else Cursor(*row)


def save_cursor(conn: Connection, source_id: int, value: Cursor, at: datetime) -> None:
    values = {
        "newest_id": value.newest_id,
        "oldest_id": value.oldest_id,
        "history_complete": value.history_complete,
        "caught_up": value.caught_up,
        "updated_at": at,
    }
    stmt = dialect_insert(conn, _cursors).values(source_id=source_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["source_id"], set_=values))


def recheck_ids(
    conn: Connection, source_id: int, *, below: int, limit: int, since: datetime
) -> list[int]:
    """The newest `limit` live message ids under `below` posted since `since`, ascending."""
    rows = conn.execute(
        select(_items.c.message_id)
        .where(
            _items.c.source_id == source_id,
            _items.c.message_id.is_not(None),
            _items.c.message_id < below,
            _items.c.deleted_at.is_(None),
            _items.c.posted_at >= since,
        )
        .order_by(_items.c.message_id.desc())
        .limit(limit)
    ).scalars()
    return sorted(rows)


def stored_media(
    conn: Connection, source_id: int, message_ids: Sequence[int]
) -> dict[tuple[int, int], dict[str, Any]]:
    """Media rows of these messages by (message id, ordinal), so a re-check can reuse hashes
    of files it has already hashed instead of downloading them again."""
    if not message_ids:
        return {}
    rows = conn.execute(
        select(_items.c.message_id, _media)
        .join(_media, _media.c.item_id == _items.c.id)
        .where(and_(_items.c.source_id == source_id, _items.c.message_id.in_(message_ids)))
    ).mappings()
    return {(row["message_id"], row["ordinal"]): dict(row) for row in rows}


def set_run_account(conn: Connection, run_id: int, account: str) -> None:
    """Which account a crawl run used (crawl.py opens the run before an account is chosen)."""
    runs = CrawlRun.__table__
    conn.execute(update(runs).where(runs.c.id == run_id).values(account=account))
