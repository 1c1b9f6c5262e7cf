"""The service's own small HTTP server: liveness, readiness and Prometheus metrics.

`GET /healthz` answers while the event loop does; `GET /readyz` while the database answers and
its schema is the one this code expects; `GET /metrics` is `Metrics.render()`. Nothing else is
served. Answers are one line: a probe's body ends up in `docker inspect` and in logs, so it never
carries a traceback, a database URL or a password. There is no access log at all: request
lines are the place secrets in query strings would leak to.

The client side (`chanwatch probe`) and the `--http` address are in `probe.py`, which every
command can import without this module's web server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import Engine

from crawler.errors import UserError
from crawler.jobs.metrics import CONTENT_TYPE, Metrics
from crawler.logging import get_logger
from storage import service_queries
from storage.migrate import current_revision, head_revision

# A readiness probe must answer even when the database hangs rather than refuses.
READY_TIMEOUT_SECONDS = 5.0

log = get_logger(__name__)


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
