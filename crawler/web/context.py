"""What every handler shares: the application's keys, the signed-in user, the CSRF token,
database calls off the event loop, and rendering with the page's common context."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import Engine

from crawler import access
from crawler.access import Permission
from crawler.audit import Origin, Via
from crawler.settings import Settings

T = TypeVar("T")

ENGINE = web.AppKey("engine", Engine)
SETTINGS = web.AppKey("settings", Settings)
CSRF_KEY = web.AppKey("csrf_key", bytes)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple)
"""`web.trusted_proxies` as networks (crawler/web/client_address.py)."""
SID = "sid"
"""The one key of the cookie's session: a random id, looked up in `user_session`."""
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
WEB_ORIGIN = Origin(Via.WEB, None)
"""Audit rows of web actions name the signed-in user as actor and no OS account."""


@dataclass(frozen=True, slots=True)
class WebUser:
    id: int
    name: str
    role: str
    show_critical: bool = False
    """The reviewer's own setting: critical text shown without asking first."""

    def can(self, permission: Permission) -> bool:
        return access.can(self.role, permission)


USER = web.RequestKey("user", WebUser | None)
"""Where the guard middleware puts the signed-in `WebUser` (or None) on the request."""


def now() -> datetime:
    return datetime.now(UTC)


async def db(request: web.Request, work: Callable[..., T], *args: Any) -> T:
    """Run `work(engine, *args)` in a thread: the engine is synchronous, the loop must not wait."""
    return await asyncio.to_thread(work, request.app[ENGINE], *args)


def csrf_for(key: bytes, sid: str) -> str:
    """The session's CSRF token: derived, not stored, so the cookie keeps only the id."""
    return hmac.new(key, sid.encode("ascii"), hashlib.sha256).hexdigest()


async def session_id(request: web.Request) -> str | None:
    sid = (await get_session(request)).get(SID)
    return sid if isinstance(sid, str) and sid else None


def signed_in(request: web.Request) -> WebUser | None:
    """The user the guard middleware found for this request (None: anonymous)."""
    return request.get(USER)


def user_of(request: web.Request) -> WebUser:
    """The signed-in user of a route the guard admits only signed-in users to."""
    user = request.get(USER)
    if user is None:  # the route table gave this route no access entry: refuse, never guess
        raise web.HTTPForbidden()
    return user


def alert_id_of(request: web.Request) -> int:
    """The `{id}` of an alert route (the router admits only digits)."""
    raw = request.match_info["id"]
    if len(raw) > 18:
        raise web.HTTPNotFound(text="no such alert")
    return int(raw)


async def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """Render with what every page needs: the user, the CSRF token for forms and, for htmx,
    the same token as a header (`hx-headers` on <body>)."""
    sid = await session_id(request)
    token = csrf_for(request.app[CSRF_KEY], sid) if sid else ""
    common = {
        "user": signed_in(request), "csrf_token": token,
        "htmx_headers": json.dumps({CSRF_HEADER: token}),
        "Permission": Permission, "error": None,
    }  # fmt: skip
    return aiohttp_jinja2.render_template(template, request, {**common, **context}, status=status)
