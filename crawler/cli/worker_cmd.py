"""`chanwatch worker`: one of any number of Procrastinate workers on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from crawler.cli.context import app_context
from crawler.errors import UserError
from crawler.jobs.http import DEFAULT_LISTEN, parse_listen, start_http
from crawler.jobs.worker import Runtime, WorkerMetrics, build_app, run_worker
from crawler.matching.pipeline import build_matchers
from crawler.settings import Settings
from storage.migrate import job_queue_installed


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Jobs this worker runs at once, at most.")
    ] = 4,
    http: Annotated[
        str, typer.Option(metavar="HOST:PORT", help="Where /healthz, /readyz and /metrics listen.")
    ] = DEFAULT_LISTEN,
    no_http: Annotated[bool, typer.Option("--no-http", help="Serve no HTTP port.")] = False,
    grace: Annotated[
        float, typer.Option(min=0, max=3600, help="Seconds running jobs get to stop.")
    ] = 30.0,
) -> None:
    """Run queued crawls and the periodic tasks with the other workers, until SIGTERM or Ctrl-C."""
    root = app_context(ctx)
    settings = root.settings
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        raise UserError("workers need PostgreSQL (database_url); on SQLite use `chanwatch run`")
    listen = None if no_http else parse_listen(http)
    engine = root.engine()
    if not job_queue_installed(engine):
        raise UserError("the job queue is not installed: run `chanwatch db upgrade`")
    asyncio.run(_serve(engine, settings, concurrency, listen, grace))


async def _serve(
    engine: Engine,
    settings: Settings,
    concurrency: int,
    listen: tuple[str, int] | None,
    grace: float,
) -> None:
    metrics = WorkerMetrics(engine)
    server = None
    if listen is not None:
        server = await start_http(*listen, engine, metrics)
        host = f"[{listen[0]}]" if ":" in listen[0] else listen[0]
        # The bound port (port 0 picks one) is how scripts and tests find the probes.
        sys.stderr.write(f"chanwatch worker: health and metrics on http://{host}:{server.port}/\n")
        sys.stderr.flush()
    runtime = Runtime(engine, settings, build_matchers(engine, settings), metrics)
    app = build_app(runtime, concurrency=concurrency)
    try:
        await run_worker(app, runtime, concurrency=concurrency, grace_s=grace)
    finally:
        if server is not None:
            await server.close()
