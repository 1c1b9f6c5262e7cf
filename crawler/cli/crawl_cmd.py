"""`chanwatch crawl --once`: run due targets, show progress and a summary table."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from crawler.cli.context import app_context
from crawler.cli.output import print_table
from crawler.crawl import crawl_once, default_matchers
from crawler.errors import UserError
from crawler.locators import normalize
from storage import watchlist_store
from storage.watchlist_store import TargetRow


def crawl(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="One pass over due targets, then exit.")
    ] = False,
    target: Annotated[
        str | None,
        typer.Option("--target", metavar="LOCATOR", help="Only this target, due or not."),
    ] = None,
) -> None:
    """Crawl watched targets. Exit 0 when every target ran or was deferred, 1 when any failed."""
    if not once:
        raise UserError(
            "only `crawl --once` exists yet; schedule it (cron, systemd timer, compose)"
        )
    root = app_context(ctx)
    settings = root.settings
    locator = normalize(target, None, settings.net.allow_private_hosts).value if target else None
    engine = root.engine()
    console = Console(stderr=True)

    def progress(row: TargetRow) -> None:
        console.print(f"crawling {row.kind} {row.locator}", markup=False, highlight=False)

    matchers = default_matchers(engine, settings)
    results = asyncio.run(
        crawl_once(engine, settings, locator=locator, matchers=matchers, progress=progress)
    )
    if target and not results:
        with engine.connect() as conn:
            watched = watchlist_store.list_targets(conn, locator=locator)
        if any(not row.enabled for row in watched):
            raise UserError(f"disabled: {locator} (`chanwatch watchlist enable {locator}` first)")
        raise UserError(f"not watched: {locator}")
    print_table(
        ["target", "kind", "status", "new", "updated", "gone", "media", "seconds", "message"],
        [
            [r.target.locator, r.target.kind, r.outcome.status, r.counts.items_new,
             r.counts.items_updated, r.counts.items_gone, r.counts.media_hashed,
             f"{r.seconds:.1f}", r.outcome.message or ""]
            for r in results
        ],
        title=f"{len(results)} target(s)",
    )  # fmt: skip
    if any(r.outcome.failed for r in results):
        raise typer.Exit(1)
