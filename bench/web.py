"""Review app latency: the alerts queue and an alert's detail page, p50/p95 over real HTTP, with
100,000 alerts and 1,000,000 items, on SQLite and PostgreSQL.

The app is `create_app` served by aiohttp on 127.0.0.1 in this process's event loop; a staff
user logs in (GET /login for the CSRF token, POST) and the client times GET /alerts (first
page, `?kind=keyword&severity=critical`, `?rule=rule_07` (one keyword rule of 40),
`?source=@room_0776` (one room of 2,000), and a deep keyset page: the `after=` of a page's
next link, ~`--deep` rows down) and GET /alerts/{id}. The data is filled set-based (COPY on
PostgreSQL, core `insert` with lists on SQLite): sources, items with Korean text, alerts of
every kind with their evidence, statuses mixed, some assigned, each with its history.

Baseline in the same run: a tiny naive aiohttp handler on another port of the same loop (no
session, no template: a plain escaped table), querying the way an ORM tutorial does: Alert
objects with `.offset()` paging, then each row's Item and Source objects one by one (N+1), and
for the detail the Alert, Item, Source and AlertEvent objects.

    .venv/bin/python bench/web.py [--alerts 100000] [--items 1000000] [--requests 200]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import statistics
import tempfile
import time
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from throwaway_db import postgres_engine, sqlite_engine
from web_data import PASSWORD, USER, fill

from crawler.logging import configure
from crawler.settings import Settings
from crawler.web import create_app
from storage.models import Alert, AlertEvent, Item, Source

FILTERED = "/alerts?kind=keyword&severity=critical"
BY_RULE = "/alerts?rule=rule_07"
BY_SOURCE = "/alerts?source=%40room_0776"


# ---------------------------------------------------------------- naive baseline


def naive_queue(engine: Engine, filters: dict[str, str], offset: int) -> str:
    with Session(engine) as session:
        query = select(Alert)
        for name in ("kind", "severity", "rule"):
            if filters.get(name):
                query = query.where(getattr(Alert, name) == filters[name])
        if filters.get("source"):
            query = query.join(Source, Source.id == Alert.source_id).where(
                Source.username == filters["source"].removeprefix("@")
            )
        query = query.order_by(Alert.priority.desc(), Alert.last_seen.desc(), Alert.id.desc())
        cells = []
        for alert in session.scalars(query.offset(offset).limit(51)).all()[:50]:
            item = session.get(Item, alert.item_id) if alert.item_id else None
            source = session.get(Source, alert.source_id) if alert.source_id else None
            what = alert.evidence.get("rule") or alert.evidence.get("bank") or ""
            cells.append(
                f"<tr><td>{alert.id}</td><td>{alert.severity}</td><td>{alert.kind}</td>"
                f"<td>{alert.status}</td><td>{html.escape(source.username or '') if source else ''}"
                f"</td><td>{html.escape(source.title or '') if source else ''}</td>"
                f"<td>{html.escape(what)}</td><td>{html.escape(item.url or '') if item else ''}"
                f"</td><td>{alert.last_seen.isoformat()}</td><td>{alert.assignee or ''}</td></tr>"
            )
    return "<table>" + "".join(cells) + "</table>"


def naive_detail(engine: Engine, alert_id: int) -> str:
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return ""
        item = session.get(Item, alert.item_id) if alert.item_id else None
        source = session.get(Source, alert.source_id) if alert.source_id else None
        events = session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        ).all()
        parts = [f"<h1>{alert.id} {alert.kind} {alert.severity}</h1>",
                 f"<p>{html.escape(source.title or '') if source else ''}</p>",
                 f"<pre>{html.escape(item.text) if item else ''}</pre>",
                 f"<pre>{html.escape(json.dumps(alert.evidence, ensure_ascii=False))}</pre>"]
        parts += [f"<li>{e.at.isoformat()} {e.actor} {e.action}</li>" for e in events]
    return "".join(parts)


def naive_app(engine: Engine) -> web.Application:
    async def queue(request: web.Request) -> web.Response:
        q = request.query
        body = await asyncio.to_thread(naive_queue, engine, dict(q), int(q.get("offset", "0")))
        return web.Response(text=body, content_type="text/html")

    async def detail(request: web.Request) -> web.Response:
        body = await asyncio.to_thread(naive_detail, engine, int(request.match_info["id"]))
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/alerts", queue)
    app.router.add_get(r"/alerts/{id:\d+}", detail)
    return app


# ---------------------------------------------------------------- measuring


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def login(client: aiohttp.ClientSession, base: str) -> None:
    async with client.get(f"{base}/login") as resp:
        page = await resp.text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, page[:500]
    form = {"csrf_token": token.group(1), "next": "/alerts", "username": USER,
            "password": PASSWORD}  # fmt: skip
    async with client.post(f"{base}/login", data=form) as resp:
        assert resp.status == 200 and resp.url.path == "/alerts", (resp.status, resp.url)


async def get(client: aiohttp.ClientSession, url: str) -> str:
    async with client.get(url, allow_redirects=False) as resp:
        body = await resp.text()
        assert resp.status == 200, (resp.status, url, body[:300])
        return body


NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


async def deep_cursor(client: aiohttp.ClientSession, base: str, engine: Engine,
                      depth: int) -> str:  # fmt: skip
    """The next link of a page that starts ~`depth` rows down: a few pages are walked through
    their links first, then the walk jumps to the alert at depth - 50 (queue order)."""
    url = "/alerts"
    for _ in range(3):
        url = html.unescape(NEXT.search(await get(client, base + url)).group(1))  # type: ignore[union-attr]
    a = Alert.__table__.c
    with engine.connect() as conn:
        jump = conn.execute(
            select(a.id).order_by(a.priority.desc(), a.last_seen.desc(), a.id.desc())
            .offset(max(depth - 51, 0)).limit(1)
        ).scalar_one()  # fmt: skip
    page = await get(client, f"{base}/alerts?after={jump}")
    return html.unescape(NEXT.search(page).group(1))  # type: ignore[union-attr]


async def timed(client: aiohttp.ClientSession, urls: list[str]) -> dict[str, float]:
    for url in urls[:5]:  # warm-up: pool, caches
        await get(client, url)
    times = []
    for url in urls:
        started = time.perf_counter()
        await get(client, url)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": round(statistics.median(times), 1),
            "p95": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1)}  # fmt: skip


async def measure_http(engine: Engine, requests: int, depth: int) -> dict[str, Any]:
    settings = Settings(database_url=str(engine.url))
    app = create_app(engine, settings, session_key=os.urandom(32), secure_cookies=False)
    runner, base = await serve(app)
    naive_runner, naive_base = await serve(naive_app(engine))
    rng = random.Random(3)
    with engine.connect() as conn:
        top = conn.execute(select(Alert.__table__.c.id).order_by(Alert.__table__.c.id.desc())
                           .limit(1)).scalar_one()  # fmt: skip
    ids = [rng.randrange(top) + 1 for _ in range(requests)]
    figures: dict[str, Any] = {"deep_rows": depth}
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            await login(client, base)
            deep = await deep_cursor(client, base, engine, depth)
            figures["deep_url"] = deep
            figures["chanwatch"] = {
                "queue_first": await timed(client, [base + "/alerts"] * requests),
                "queue_filtered": await timed(client, [base + FILTERED] * requests),
                "queue_rule": await timed(client, [base + BY_RULE] * requests),
                "queue_source": await timed(client, [base + BY_SOURCE] * requests),
                "queue_deep": await timed(client, [base + deep] * requests),
                "detail": await timed(client, [f"{base}/alerts/{i}" for i in ids]),
            }
            print("  chanwatch", figures["chanwatch"], flush=True)
            slow = max(20, requests // 4)  # OFFSET and N+1 are slow: fewer requests suffice
            figures["baseline_requests"] = slow
            figures["baseline"] = {
                "queue_first": await timed(client, [naive_base + "/alerts"] * slow),
                "queue_filtered": await timed(client, [naive_base + FILTERED] * slow),
                "queue_rule": await timed(client, [naive_base + BY_RULE] * slow),
                "queue_source": await timed(client, [naive_base + BY_SOURCE] * slow),
                "queue_deep": await timed(client, [f"{naive_base}/alerts?offset={depth}"] * slow),
                "detail": await timed(client, [f"{naive_base}/alerts/{i}" for i in ids[:slow]]),
            }
            print("  baseline", figures["baseline"], flush=True)
    finally:
        await runner.cleanup()
        await naive_runner.cleanup()
    return figures


def run(engine: Engine, alerts: int, items: int, requests: int, depth: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"fill": fill(engine, alerts, items)}
    print("  filled", figures["fill"], flush=True)
    figures.update(asyncio.run(measure_http(engine, requests, depth)))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--deep", type=int, default=None, help="rows down (default: alerts/2)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    configure("warning")
    depth = args.deep if args.deep is not None else args.alerts // 2
    figures: dict[str, Any] = {"alerts": args.alerts, "items": args.items,
                               "requests": args.requests}  # fmt: skip
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            print("sqlite", flush=True)
            engine = sqlite_engine(folder, "web")
            figures["sqlite"] = run(engine, args.alerts, args.items, args.requests, depth)
            engine.dispose()
    if not args.skip_postgres:
        with postgres_engine() as engine:
            print("postgres", flush=True)
            figures["postgres"] = run(engine, args.alerts, args.items, args.requests, depth)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
