"""Reviewer wellness: what reaches the browser only when the reviewer asks for it, and the
record that asking leaves.

The app never shows media (there are none: only hashes are kept). Beyond that, an alert's
source links (which lead to the material itself) stay out of the page until the reviewer
reveals them, and a critical alert's collected text is not sent until the reviewer chooses to
read it, unless their own setting says to show it at once. Each reveal and each critical read is
a row of the audit log, so "critical texts read today" is counted from what was actually sent
and is shown to the reviewer; a reveal or read holds for the rest of that day (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from aiohttp import web
from sqlalchemy import Connection, Engine

from crawler import audit
from crawler.web.context import WEB_ORIGIN, WebUser, alert_id_of, db, now, render, user_of
from storage import alert_store, audit_store, user_store

CRITICAL = "critical"


def day_start(at: datetime) -> datetime:
    """Midnight (UTC) of `at`'s day: where "today" begins for the counts."""
    return datetime.combine(at.date(), time(), tzinfo=at.tzinfo)


def subject(alert_id: int) -> str:
    return f"alert {alert_id}"


@dataclass(frozen=True, slots=True)
class Exposure:
    """What of one alert this reviewer sees now."""

    source_revealed: bool
    text_shown: bool
    critical_today: int


def exposure(conn: Connection, user: WebUser, alert_id: int, severity: str) -> Exposure:
    """What `user` may be shown of the alert. With `show_critical` on, showing a critical text
    is itself a read, recorded here (once a day per alert) like a chosen one."""
    at = now()
    since, name, about = day_start(at), user.name, subject(alert_id)
    revealed = audit_store.actor_did(
        conn, name, audit.Action.ALERT_REVEAL_SOURCE, about, since
    )
    shown = severity != CRITICAL or audit_store.actor_did(
        conn, name, audit.Action.ALERT_READ_CRITICAL, about, since
    )
    if not shown and user.show_critical:
        audit.record(conn, audit.Action.ALERT_READ_CRITICAL, about, {"asked": False},
                     actor=name, origin=WEB_ORIGIN)  # fmt: skip
        shown = True
    count = audit_store.actor_count(conn, name, audit.Action.ALERT_READ_CRITICAL, since)
    return Exposure(revealed, shown, count)


def critical_today(engine: Engine, user: WebUser) -> int:
    with engine.connect() as conn:
        return audit_store.actor_count(
            conn, user.name, audit.Action.ALERT_READ_CRITICAL, day_start(now())
        )


def _record_once(
    engine: Engine, user: str, action: audit.Action, alert_id: int, critical_only: bool
) -> bool:
    """Record the reveal or read unless this reviewer already did it to this alert today (or a
    read of an alert that is not critical: nothing was hidden, nothing counts). False when
    there is no such alert."""
    at = now()
    with engine.begin() as conn:
        alert = alert_store.lock_alert(conn, alert_id)
        if alert is None:
            return False
        if critical_only and alert["severity"] != CRITICAL:
            return True
        if not audit_store.actor_did(conn, user, action, subject(alert_id), day_start(at)):
            audit.record(conn, action, subject(alert_id), {"asked": True}, actor=user,
                         origin=WEB_ORIGIN)  # fmt: skip
    return True


async def _record(request: web.Request, action: audit.Action, anchor: str) -> web.Response:
    alert_id = alert_id_of(request)
    critical_only = action is audit.Action.ALERT_READ_CRITICAL
    if not await db(request, _record_once, user_of(request).name, action, alert_id,
                    critical_only):  # fmt: skip
        raise web.HTTPNotFound(text="no such alert")
    raise web.HTTPSeeOther(f"/alerts/{alert_id}#{anchor}")


async def reveal_source(request: web.Request) -> web.Response:
    return await _record(request, audit.Action.ALERT_REVEAL_SOURCE, "source")


async def read_critical(request: web.Request) -> web.Response:
    return await _record(request, audit.Action.ALERT_READ_CRITICAL, "text")


async def settings_page(request: web.Request) -> web.Response:
    count = await db(request, critical_today, user_of(request))
    return await render(request, "settings.html", {"critical_today": count})


def _save(engine: Engine, user: WebUser, show_critical: bool) -> None:
    with engine.begin() as conn:
        user_store.update_user(conn, user.name, {"show_critical": show_critical}, now())
        audit.record(conn, audit.Action.USER_SETTINGS, f"user {user.name}",
                     {"show_critical": show_critical}, actor=user.name,
                     origin=WEB_ORIGIN)  # fmt: skip


async def save_settings(request: web.Request) -> web.Response:
    form = await request.post()
    await db(request, _save, user_of(request), form.get("show_critical") == "on")
    raise web.HTTPSeeOther("/settings")
