"""The service's own small HTTP server: liveness, readiness and Prometheus metrics.

`GET /healthz` answers while the event loop does; `GET /readyz` while the database answers and
its schema is the one this code expects; `GET /metrics` is `Metrics.render()`. Nothing else is
served. Answers are one line: a probe's body ends up in `docker inspect` and in logs, so it never
carries a traceback, a database URL or a password. There is no access log at all: request
lines are the place secrets in query strings would leak to.

`probe` is the client side for images without curl: compose health checks run it.
"""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import re
import sys
import urllib.request
from dataclasses import dataclass
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import Engine

from crawler.errors import UserError
from crawler.jobs.metrics import CONTENT_TYPE, Metrics
from crawler.logging import get_logger
from storage import service_queries
from storage.migrate import current_revision, head_revision

DEFAULT_LISTEN = "127.0.0.1:9464"
# A readiness probe must answer even when the database hangs rather than refuses.
READY_TIMEOUT_SECONDS = 5.0

# A host name or an IPv4 address; IPv6 comes in brackets and is checked by ipaddress.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
# How much of a failing answer `probe` repeats: its first line, enough for the reason.
_PROBE_BODY_BYTES = 200

log = get_logger(__name__)


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT` as (host, port); UserError with one line otherwise.

    Port 0 is accepted: the system picks one, which a test or a log line can report.
    """
    host, colon, port_text = value.rpartition(":")
    if not colon or not host:
        raise UserError(f"--http {value!r}: expected HOST:PORT, such as {DEFAULT_LISTEN}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UserError(f"--http {value!r}: {host!r} is not an IPv6 address") from None
    elif ":" in host:
        raise UserError(f"--http {value!r}: put an IPv6 address in brackets, as in [::1]:9464")
    elif not _HOST.fullmatch(host):
        raise UserError(f"--http {value!r}: {host!r} is not a host name or address")
    if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
        raise UserError(f"--http {value!r}: the port must be a number from 0 to 65535")
    return host, int(port_text)


@dataclass(slots=True)
class HttpServer:
    """A running server; `port` is the one actually bound (useful when 0 was asked for)."""

    port: int
    _runner: web.AppRunner

    async def close(self) -> None:
        await self._runner.cleanup()


async def start_http(host: str, port: int, engine: Engine, metrics: Metrics) -> HttpServer:
    """Serve /healthz, /readyz and /metrics on host:port until `close()`."""
    # The head is a property of the installed code, not of the database: read it once.
    head = await asyncio.to_thread(head_revision, engine)

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_request: web.Request) -> web.Response:
        try:
            reason = await asyncio.wait_for(
                asyncio.to_thread(_not_ready_reason, engine, head), READY_TIMEOUT_SECONDS
            )
        except TimeoutError:
            reason = f"database did not answer within {READY_TIMEOUT_SECONDS:g} s"
        if reason is not None:
            return web.Response(status=503, text=f"not ready: {reason}\n")
        return web.Response(text="ready\n")

    async def metrics_page(_request: web.Request) -> web.Response:
        body = await asyncio.to_thread(metrics.render)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        # A port in use or an address not on this machine is a setting to fix, not a crash.
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    log.info("http server listening", host=host, port=bound)
    return HttpServer(bound, runner)


def _not_ready_reason(engine: Engine, head: str | None) -> str | None:
    """Why the database cannot serve this code yet, in one line; None when it can."""
    try:
        with engine.connect() as conn:
            service_queries.ping(conn)
        current = current_revision(engine)
    # Any failure means "not ready", and the probe's answer must stay one line: only the class
    # is named, since driver messages can carry hosts, users and paths.
    except Exception as exc:
        log.warning("readiness check failed", error=exc.__class__.__name__)
        return f"database unreachable ({exc.__class__.__name__})"
    if current is None:
        return "database schema is not migrated (run `chanwatch db upgrade`)"
    if current != head:
        return f"database schema is at {current}, this chanwatch expects {head}"
    return None


def probe(url: str, timeout: float) -> int:
    """GET `url`: 0 on a 2xx answer, else 1 with one line on stderr saying why (a health
    check's output is what `docker inspect` shows)."""
    if urlsplit(url).scheme not in ("http", "https"):
        return _unhealthy(f"{url!r} is not an http(s) URL")
    # No proxies: a container's HTTP_PROXY must not carry a probe of its own loopback elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        # urllib raises HTTPError for every answer outside 2xx, so reaching `return` is healthy.
        with opener.open(url, timeout=timeout):
            return 0
    except HTTPError as exc:
        first_line = exc.read(_PROBE_BODY_BYTES).decode("utf-8", "replace").partition("\n")[0]
        shown = "".join(char for char in first_line if char.isprintable())
        return _unhealthy(f"HTTP {exc.code}: {shown}" if shown else f"HTTP {exc.code}")
    except (URLError, OSError, http.client.HTTPException) as exc:
        # The reason alone: a URL can carry user:password, and compose already shows the URL.
        return _unhealthy(str(exc.reason if isinstance(exc, URLError) else exc))


def _unhealthy(reason: str) -> int:
    print(f"chanwatch probe: {reason}", file=sys.stderr)
    return 1
