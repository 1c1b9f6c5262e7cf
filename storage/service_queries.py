"""What a running service reports about the database: readiness and the gauges behind /metrics.

Read at scrape time rather than counted in a process, so every process and machine sharing the
database reports the same truth. Plain values out; nothing here knows Prometheus.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, func, select, text

from storage.models import Alert, Target, TelegramAccount
from storage.models.operations import Lease

_alerts = Alert.__table__
_targets = Target.__table__
_accounts = TelegramAccount.__table__
_leases = Lease.__table__

ACCOUNT_STATES = ("ok", "flood_waiting", "unauthorized", "leased")
"""Every state `account_states` reports, each account in exactly one."""


def ping(conn: Connection) -> None:
    """Raise unless the database answers a query."""
    conn.execute(text("SELECT 1")).scalar_one()


def alert_counts_by_kind(conn: Connection) -> dict[str, int]:
    """Alert rows per kind. Alerts are never deleted, so each count only grows."""
    rows = conn.execute(select(_alerts.c.kind, func.count()).group_by(_alerts.c.kind))
    return {kind: count for kind, count in rows}


def account_states(conn: Connection, now: datetime, lease_kind: str) -> dict[str, int]:
    """Telegram accounts per state (every state present, zero when empty); `lease_kind` is the
    kind under which the collector leases auth keys.

    The precedence is the one `crawler.telegram.accounts` applies when picking an account: a
    flood wait first, then a session known to be signed out, then a live lease on its key.
    """
    live_lease = and_(
        _leases.c.kind == lease_kind,
        _leases.c.key == _accounts.c.auth_key_id,
        _leases.c.until > now,
    )
    rows = conn.execute(
        select(_accounts.c.flood_until, _accounts.c.status, _leases.c.owner).select_from(
            _accounts.outerjoin(_leases, live_lease)
        )
    )
    counts = dict.fromkeys(ACCOUNT_STATES, 0)
    for flood_until, status, lease_owner in rows:
        if flood_until is not None and flood_until > now:
            counts["flood_waiting"] += 1
        elif status == "unauthorized":
            counts["unauthorized"] += 1
        elif lease_owner is not None:
            counts["leased"] += 1
        else:
            counts["ok"] += 1
    return counts


def overdue_target_count(conn: Connection, due_before: datetime) -> int:
    """Enabled targets that were due before `due_before` and have not run since.

    A target with no due time is simply due at the next look; it has no lateness to measure.
    """
    return conn.execute(
        select(func.count()).where(_targets.c.enabled, _targets.c.next_due_at < due_before)
    ).scalar_one()
