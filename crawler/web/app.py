"""The review app: its route table (each route with who may use it), the guard that enforces it,
and the headers every response carries.

`ROUTES` is the one place a route and its access are declared together; `create_app` refuses a
route without an access entry, and the tests build their authorization matrix from the same
table (`route_access`), so a new route cannot go unchecked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from sqlalchemy import Engine

from crawler.access import Permission
from crawler.settings import Settings
from crawler.web import actions, auth, client_address, pages, review, text, wellness
from crawler.web.context import CSRF_KEY, ENGINE, SETTINGS, TRUSTED_PROXIES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HERE = Path(__file__).resolve().parent
COOKIE = "chanwatch_session"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
MAX_REQUEST_BYTES = 64 * 1024
"""Forms here are a login or a decision with its reason: nothing needs more."""
STATIC_PREFIX = "/static"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    access: Permission | None
    """None: anyone, signed in or not; otherwise the permission a signed-in user needs."""


ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", pages.healthz, None),
    Route("GET", "/login", auth.login_form, None),
    Route("POST", "/login", auth.login, None),
    Route("POST", "/logout", auth.logout, Permission.READ),
    Route("GET", "/", pages.index, Permission.READ),
    Route("GET", "/alerts", review.queue, Permission.READ),
    Route("GET", r"/alerts/{id:\d+}", review.detail, Permission.READ),
    Route("POST", "/alerts/bulk", actions.bulk, Permission.REVIEW_ALERTS),
    Route("POST", "/alerts/next", actions.take_next, Permission.REVIEW_ALERTS),
    Route("POST", r"/alerts/{id:\d+}/claim", actions.claim, Permission.REVIEW_ALERTS),
    Route("POST", r"/alerts/{id:\d+}/release", actions.release, Permission.REVIEW_ALERTS),
    Route("POST", r"/alerts/{id:\d+}/assign", actions.assign, Permission.ASSIGN_ALERTS),
    Route("POST", r"/alerts/{id:\d+}/decide", actions.decide, Permission.REVIEW_ALERTS),
    Route("POST", r"/alerts/{id:\d+}/reveal", wellness.reveal_source, Permission.READ),
    Route("POST", r"/alerts/{id:\d+}/read", wellness.read_critical, Permission.READ),
    Route("GET", "/settings", wellness.settings_page, Permission.READ),
    Route("POST", "/settings", wellness.save_settings, Permission.READ),
    Route("GET", "/watchlists", pages.watchlists, Permission.READ),
)
ACCESS = web.AppKey("access", dict)
"""(method, resource canonical path) → the route's access, for every route the router has."""


def route_access(app: web.Application) -> dict[tuple[str, str], Permission | None]:
    return app[ACCESS]


def _access_key(request: web.Request) -> tuple[str, str]:
    method = "GET" if request.method == "HEAD" else request.method
    return method, request.match_info.route.resource.canonical  # type: ignore[union-attr]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who may do what, before any handler runs: anonymous GETs go to the login page, anything
    else refused is 403; every non-GET needs its session's CSRF token, login included."""
    if request.match_info.http_exception is not None:  # 404 / 405: nothing to guard
        return await handler(request)
    key = _access_key(request)
    table = request.app[ACCESS]
    if key not in table:  # create_app makes this impossible; refuse rather than serve
        raise web.HTTPForbidden()
    access = table[key]
    user = await auth.current_user(request) if access is not None else None
    if key[0] != "GET" and (
        (access is not None and user is None) or not await auth.csrf_ok(request)
    ):
        raise web.HTTPForbidden(text="refused: sign in, and send the form's token")
    if access is None:
        return await handler(request)
    if user is None:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
    if not user.can(access):
        raise web.HTTPForbidden(text="your role may not do this")
    return await handler(request)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, errors and static files included (a signal, not a middleware: it
    also sees the responses that middlewares raise)."""
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith(STATIC_PREFIX + "/"):
        # Pages carry collected text: keep them out of shared and disk caches.
        response.headers["Cache-Control"] = "no-store"


def _register(app: web.Application) -> None:
    table: dict[tuple[str, str], Permission | None] = {}
    for route in ROUTES:
        added = app.router.add_route(route.method, route.path, route.handler)
        table[(route.method, added.resource.canonical)] = route.access  # type: ignore[union-attr]
    static = app.router.add_static(STATIC_PREFIX, HERE / "static")
    table[("GET", static.canonical)] = None
    for resource in app.router.resources():
        for registered in resource:
            method = "GET" if registered.method == "HEAD" else registered.method
            if (method, resource.canonical) not in table:
                raise RuntimeError(f"route {method} {resource.canonical} has no access entry")
    app[ACCESS] = table


def create_app(
    engine: Engine, settings: Settings, *, session_key: bytes, secure_cookies: bool
) -> web.Application:
    """The review app over `engine`. `session_key` is 32 random bytes: the cookie's encryption
    key, and (hashed apart) the CSRF tokens' key. `secure_cookies`: send the cookie over HTTPS
    only, which a plain-HTTP loopback set-up must turn off."""
    if len(session_key) != 32:
        raise ValueError("the session key is 32 bytes")
    auth.dummy_hash()  # before the first login, which would otherwise pay for it
    storage = EncryptedCookieStorage(
        session_key, cookie_name=COOKIE, httponly=True, secure=secure_cookies, samesite="Lax",
    )  # fmt: skip
    app = web.Application(
        middlewares=[session_middleware(storage), guard], client_max_size=MAX_REQUEST_BYTES
    )
    app[ENGINE], app[SETTINGS] = engine, settings
    app[TRUSTED_PROXIES] = client_address.networks(settings.web.trusted_proxies)
    app[CSRF_KEY] = hashlib.sha256(b"chanwatch csrf\x00" + session_key).digest()
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        # Every template, whatever its name: collected text must never reach a page unescaped.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        default_helpers=True,
    )
    environment.filters["when"] = text.when
    _register(app)
    app.on_response_prepare.append(_security_headers)
    return app
