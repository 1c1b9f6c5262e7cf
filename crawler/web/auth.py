"""Signing in and out, finding the signed-in user, and the CSRF check.

The cookie (aiohttp-session's EncryptedCookieStorage) holds one random id. Before login it is an
anonymous id that only keys the login form's CSRF token; a successful login always issues a new
id (a session fixed by someone else before login is never the one that gets signed in), stored
hashed in `user_session` with the user, and every request looks it up again (storage/
web_session_store.py), so logout and disabling a user take effect at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import get_session, new_session
from sqlalchemy import Connection, Engine

from crawler import access, audit
from crawler.settings import WebSettings
from crawler.web.client_address import client_address
from crawler.web.context import (
    CSRF_FIELD,
    CSRF_HEADER,
    CSRF_KEY,
    SETTINGS,
    SID,
    TRUSTED_PROXIES,
    USER,
    WEB_ORIGIN,
    WebUser,
    csrf_for,
    db,
    now,
    render,
    session_id,
    user_of,
)
from storage import user_store, web_session_store

TOUCH_EVERY = timedelta(minutes=1)
"""`last_seen_at` is written at most this often per session: a page view is not a write."""


@cache
def dummy_hash() -> str:
    """Verified against for an unknown name, so it costs what a wrong password costs. Made
    when the app is created (``create_app``), not when this module is imported: every
    `chanwatch` command imports it, and hashing takes a tenth of a second."""
    return access.hash_password("not a password of anyone here")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _idle_after(settings: WebSettings, at: datetime) -> datetime:
    return at - timedelta(minutes=settings.idle_minutes)


def lookup_user(engine: Engine, settings: WebSettings, sid: str) -> WebUser | None:
    at = now()
    with engine.begin() as conn:
        row = web_session_store.session_user(conn, sid, at, _idle_after(settings, at))
        if row is None:
            return None
        if at - row["last_seen_at"] >= TOUCH_EVERY:
            web_session_store.touch(conn, row["session_id"], at)
    return WebUser(row["id"], row["name"], row["role"], bool(row["show_critical"]))


async def current_user(request: web.Request) -> WebUser | None:
    """The user whose live session this request carries, found once per request."""
    if USER not in request:
        sid = await session_id(request)
        settings = request.app[SETTINGS].web
        request[USER] = await db(request, lookup_user, settings, sid) if sid else None
    return request[USER]


async def csrf_ok(request: web.Request) -> bool:
    """Whether a state-changing request carries its session's token (form field or header)."""
    sid = await session_id(request)
    if sid is None:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded", "multipart/form-data",
    ):  # fmt: skip
        sent = (await request.post()).get(CSRF_FIELD)
    expected = csrf_for(request.app[CSRF_KEY], sid)
    return isinstance(sent, str) and hmac.compare_digest(sent, expected)


def safe_next(value: str | None) -> str:
    """Where to go after login: a same-site path only (never `//host`, `/\\host`, a scheme)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/alerts"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 0x21 or c == "\\" for c in value):
        return "/alerts"
    return value


async def login_form(request: web.Request) -> web.Response:
    session = await get_session(request)
    if not isinstance(session.get(SID), str):
        # An anonymous id, only so the form has a CSRF token; login replaces it.
        session[SID] = new_token()
    return await _form(request, request.query.get("next"), None, 200)


async def _form(
    request: web.Request, next_url: str | None, error: str | None, status: int
) -> web.Response:
    context = {"next": safe_next(next_url), "error": error}
    return await render(request, "login.html", context, status=status)


ANONYMOUS = "anonymous"
"""The actor of a failed login: whoever tried is not the user they named."""


def _audit_failure(conn: Connection, name: str, address: str, why: str) -> None:
    audit.record(conn, audit.Action.LOGIN_FAILED, f"user {name}",
                 {"address": address, "why": why}, actor=ANONYMOUS,
                 origin=WEB_ORIGIN)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Attempt:
    user: WebUser | None
    token: str | None
    throttled: bool


def attempt_login(
    engine: Engine, settings: WebSettings, name: str, password: str, address: str,
    old_sid: str | None,
) -> Attempt:  # fmt: skip
    """Check the throttle, then the password; on success end the request's old session (if it
    was one), store a new one and return its id. Every attempt is in the audit log; failures
    also count towards the throttle (a throttled attempt does not: the limit ages out)."""
    at = now()
    window = at - timedelta(minutes=settings.login_window_minutes)
    with engine.begin() as conn:
        by_name, by_address = web_session_store.failures_since(conn, name, address, window)
        if max(by_name, by_address) >= settings.login_failures:
            _audit_failure(conn, name, address, "throttled")
            return Attempt(None, None, throttled=True)
        user = user_store.get_user(conn, name)
        stored = user_store.password_hash(conn, name) if user else None
    # argon2 takes tens of milliseconds: outside the transaction.
    matches = access.password_matches(stored or dummy_hash(), password) and stored is not None
    with engine.begin() as conn:
        if not matches or user is None or not user["enabled"]:
            web_session_store.record_failure(conn, name, address, at)
            why = "disabled" if matches and user is not None else "wrong name or password"
            _audit_failure(conn, name, address, why)
            return Attempt(None, None, throttled=False)
        if access.needs_rehash(stored):
            user_store.update_user(
                conn, name, {"password_hash": access.hash_password(password)}, at
            )
        if old_sid is not None:
            web_session_store.end_session(conn, old_sid)
        web_session_store.forget_failures(conn, name, at)
        web_session_store.purge(conn, at, _idle_after(settings, at), window)
        token = new_token()
        web_session_store.create_session(
            conn, token, user["id"], at=at,
            expires_at=at + timedelta(hours=settings.session_hours), address=address,
        )  # fmt: skip
        audit.record(conn, audit.Action.LOGIN, f"user {user['name']}", {"address": address},
                     actor=user["name"], origin=WEB_ORIGIN)  # fmt: skip
    return Attempt(WebUser(user["id"], user["name"], user["role"]), token, throttled=False)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name, password = form.get("username"), form.get("password")
    next_url = form.get("next")
    next_url = next_url if isinstance(next_url, str) else None
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        return await _form(request, next_url, "Give a user name and a password.", 400)
    if len(name) > 100 or len(password) > access.MAX_PASSWORD:
        return await _form(request, next_url, "Wrong user name or password.", 401)
    settings = request.app[SETTINGS].web
    address = client_address(
        request.remote, request.headers.getall("X-Forwarded-For", []),
        request.app[TRUSTED_PROXIES],
    )  # fmt: skip
    old_sid = await session_id(request)
    result = await db(request, attempt_login, settings, name, password, address, old_sid)
    if result.throttled:
        return await _form(
            request, next_url, "Too many failed logins: wait a few minutes and try again.", 429
        )
    if result.token is None:
        return await _form(request, next_url, "Wrong user name or password.", 401)
    session = await new_session(request)
    session[SID] = result.token
    raise web.HTTPSeeOther(safe_next(next_url))


async def logout(request: web.Request) -> web.Response:
    sid = await session_id(request)
    if sid is not None:
        await db(request, _end, sid, user_of(request).name)
    (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/login")


def _end(engine: Engine, sid: str, name: str) -> None:
    with engine.begin() as conn:
        web_session_store.end_session(conn, sid)
        audit.record(conn, audit.Action.LOGOUT, f"user {name}", actor=name, origin=WEB_ORIGIN)
