"""`chanwatch run` (the one-process scheduler) and `chanwatch probe` (a health check for images
that have no curl)."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import Engine

from crawler.cli.context import app_context
from crawler.jobs.probe import DEFAULT_LISTEN, parse_listen, probe
from crawler.settings import Settings

if TYPE_CHECKING:
    from crawler.jobs.http import HttpServer
    from crawler.jobs.metrics import Metrics

# The options `run` and `worker` share.
Concurrency = Annotated[
    int, typer.Option(min=1, max=256, help="Targets running at once in this process, at most.")
]
Http = Annotated[
    str, typer.Option(metavar="HOST:PORT", help="Where /healthz, /readyz and /metrics listen.")
]
NoHttp = Annotated[bool, typer.Option("--no-http", help="Serve no HTTP port.")]
Grace = Annotated[
    float, typer.Option(min=0, max=3600, help="Seconds running targets get to stop.")
]


async def start_probes(
    name: str, listen: tuple[str, int] | None, engine: Engine, metrics: Metrics
) -> HttpServer | None:
    """The health and metrics port, announced on stderr: the bound port (port 0 picks one)
    is how scripts and tests find the probes."""
    if listen is None:
        return None
    from crawler.jobs.http import start_http  # see _serve

    server = await start_http(*listen, engine, metrics)
    host = f"[{listen[0]}]" if ":" in listen[0] else listen[0]
    sys.stderr.write(f"chanwatch {name}: health and metrics on http://{host}:{server.port}/\n")
    sys.stderr.flush()
    return server


def run(
    ctx: typer.Context,
    concurrency: Concurrency = 4,
    http: Http = DEFAULT_LISTEN,
    no_http: NoHttp = False,
    grace: Grace = 30.0,
) -> None:
    """Crawl every enabled target when it is due, until SIGTERM or Ctrl-C."""
    root = app_context(ctx)
    listen = None if no_http else parse_listen(http)
    asyncio.run(_serve(root.engine(), root.settings, concurrency, listen, grace))


async def _serve(
    engine: Engine,
    settings: Settings,
    concurrency: int,
    listen: tuple[str, int] | None,
    grace: float,
) -> None:
    # Imported here: the service brings Telethon, Scrapy's settings and a web server, which
    # the other commands (all of them read this module's options) should not wait for.
    from crawler.jobs.metrics import Metrics
    from crawler.jobs.service import Scheduler, install_signals
    from crawler.matching.pipeline import build_matchers

    metrics = Metrics(engine)
    server = await start_probes("run", listen, engine, metrics)
    matchers = build_matchers(engine, settings)
    scheduler = Scheduler(engine, settings, matchers, concurrency=concurrency, metrics=metrics)
    install_signals(scheduler)
    try:
        await scheduler.serve(grace)
    finally:
        if server is not None:
            await server.close()


def probe_command(
    url: Annotated[str, typer.Argument(help="e.g. http://127.0.0.1:9464/readyz")],
    timeout: Annotated[float, typer.Option(min=0.1, max=60)] = 5.0,
) -> None:
    """Exit 0 when URL answers 200, else 1 with one line saying why (compose health checks)."""
    raise typer.Exit(probe(url, timeout))
