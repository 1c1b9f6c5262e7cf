"""`chanwatch worker`: one of any number of Procrastinate workers on one PostgreSQL database."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from crawler.cli.context import app_context
from crawler.cli.service_cmd import Concurrency, Grace, Http, NoHttp, start_probes
from crawler.errors import UserError
from crawler.jobs.probe import DEFAULT_LISTEN, parse_listen
from crawler.settings import Settings
from storage.migrate import job_queue_installed


def worker(
    ctx: typer.Context,
    concurrency: Concurrency = 4,
    http: Http = DEFAULT_LISTEN,
    no_http: NoHttp = False,
    grace: Grace = 30.0,
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
    # Imported here, as in `chanwatch run`: Procrastinate and the collectors are this
    # command's alone.
    from crawler.jobs.worker import Runtime, WorkerMetrics, build_app, run_worker
    from crawler.matching.pipeline import build_matchers

    metrics = WorkerMetrics(engine)
    server = await start_probes("worker", listen, engine, metrics)
    runtime = Runtime(engine, settings, build_matchers(engine, settings), metrics)
    app = build_app(runtime, concurrency=concurrency)
    try:
        await run_worker(app, runtime, concurrency=concurrency, grace_s=grace)
    finally:
        if server is not None:
            await server.close()
