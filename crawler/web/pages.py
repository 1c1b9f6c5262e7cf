"""The pages that are not the review queue: liveness, the start page, the watchlists (read-only)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import Engine

from crawler.web.context import db, render
from crawler.web.text import shown
from storage import watchlist_store


async def healthz(_request: web.Request) -> web.Response:
    """Answers while the event loop does; no database, no session (a probe has neither)."""
    return web.Response(text="ok\n")


async def index(_request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/alerts")


def _targets(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = watchlist_store.list_targets(conn)
    # Locators, notes and tags are typed by staff but often pasted from collected text.
    return [
        {"watchlist": shown(t.watchlist), "kind": t.kind, "locator": shown(t.locator),
         "interval_s": t.interval_s, "tags": shown(", ".join(t.tags)),
         "note": shown(t.note or ""), "enabled": t.enabled, "last_status": t.last_status,
         "last_run_at": t.last_run_at}
        for t in rows
    ]  # fmt: skip


async def watchlists(request: web.Request) -> web.Response:
    return await render(request, "watchlists.html", {"targets": await db(request, _targets)})
