"""t.me/s spider throughput: the full pipeline against a parse-only Scrapy spider, same run.

A 2,000-page fixture channel (40,000 posts, 20 a page) is served pre-rendered from loopback so
the server costs both spiders the same little. Each spider runs in its own child process, as
`chanwatch crawl --once` runs spiders:

- **full**: `spiders.runner.run_job` — the production path: private-address guard, robots.txt,
  the t.me/s spider with its paging floor, the ingest pipeline into a fresh SQLite database;
- **parse-only**: a plain Scrapy spider (stock settings, cookies off) that fetches the same
  pages, parses each with `parse_channel_page` and follows the cursor, storing nothing.

Both run without download delay or AutoThrottle (manners are not what is measured here).
RSS growth: the resident size of each spider's process tree (for the full pipeline, the spider
process and its ingest writer), sampled every 0.25 s, peak minus the size once ten pages were
served (start-up and imports are not growth).

    .venv/bin/python bench/spiders.py [--pages 2000]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

# The fixture site's renderer lives with the tests, which are not installed.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHANNEL = "benchroom"
PER_PAGE = 20


def render_pages(pages: int, base_url: str) -> dict[str, str]:
    from sandbox.site import FixtureChannel, numbered_posts, render_channel_page

    newest = pages * PER_PAGE
    posts = numbered_posts(list(range(1, newest + 1)))

    def window(before: int) -> FixtureChannel:
        # A page and the one post below it: the renderer then finds the same older cursor as
        # with the whole channel, at a 2,000th of the cost.
        low = max(1, before - PER_PAGE - 1)
        return FixtureChannel(CHANNEL, 5_550_001, "Bench Room", posts=posts[low - 1 : before - 1])

    rendered = {f"/s/{CHANNEL}": render_channel_page(window(newest + 1), base_url=base_url)}
    for before in range(PER_PAGE + 1, newest, PER_PAGE):
        html = render_channel_page(window(before), base_url=base_url, before=before)
        rendered[f"/s/{CHANNEL}?before={before}"] = html
    return rendered


class PreRenderedSite:
    """Serves robots.txt and the pre-rendered pages; counts page requests."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.page_requests = 0
        self.base_url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nAllow: /\n")
        body = self.pages.get(request.path_qs)
        if body is None:
            return web.Response(status=404)
        self.page_requests += 1
        return web.Response(text=body, content_type="text/html")

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def start(self) -> None:
        threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True).start()
        self._ready.wait(30)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)


def child_full(base_url: str, db_url: str, pages: int) -> dict[str, Any]:
    from crawler.settings import Settings
    from spiders.runner import job_document, run_job
    from storage import run_store, watchlist_store
    from storage.engine import make_engine
    from storage.migrate import upgrade
    from storage.watchlist_store import TargetSpec

    port = base_url.rsplit(":", 1)[1]
    settings = Settings(
        database_url=db_url,
        telegram={"preview_base_url": base_url},
        net={"allow_private_hosts": [f"127.0.0.1:{port}"]},
        spiders={"download_delay_s": 0, "max_pages_per_run": pages},
    )
    engine = make_engine(db_url)
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        spec = TargetSpec("tme_preview", f"@{CHANNEL}", 3600)
        watchlist_store.add_target(conn, "bench", spec, added_by=None, at=now)
        (target,) = watchlist_store.list_targets(conn)
        run_id = run_store.start_run(
            conn, target_id=target.id, collector="tme_preview", account=None, at=now
        )
    engine.dispose()
    job = job_document(target, run_id, settings, {"AUTOTHROTTLE_ENABLED": False})
    # Both spiders are timed from the same warm state: Scrapy and the spider modules imported,
    # the crawler set up inside the timed section.
    import scrapy.crawler  # noqa: F401

    import spiders.tme_preview  # noqa: F401

    started = time.perf_counter()
    outcome = run_job(job)
    seconds = time.perf_counter() - started
    engine = make_engine(db_url)
    with engine.connect() as conn:
        items = conn.exec_driver_sql("SELECT count(*) FROM item").scalar()
    return {
        "seconds": seconds,
        "status": outcome.status,
        "items": items,
    }


def child_parse_only(base_url: str, pages: int) -> dict[str, Any]:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from spiders.tme_parser import parse_channel_page

    parsed = {"posts": 0}

    class ParseOnly(scrapy.Spider):
        name = "parse_only"

        async def start(self) -> Any:
            yield scrapy.Request(f"{base_url}/s/{CHANNEL}")

        def parse(self, response: Any, **kwargs: Any) -> Any:
            page = parse_channel_page(
                response.text, page_url=response.url, observed_at=datetime.now(UTC)
            )
            parsed["posts"] += len(page.posts)
            if page.older_cursor is not None:
                yield response.follow(f"/s/{CHANNEL}?before={page.older_cursor}")

    started = time.perf_counter()
    process = CrawlerProcess(
        {"LOG_LEVEL": "WARNING", "COOKIES_ENABLED": False, "TELNETCONSOLE_ENABLED": False}
    )
    process.crawl(ParseOnly)
    process.start()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "items": parsed["posts"],
    }


def tree_rss_mb(pid: int) -> float:
    """Resident size of a process and its direct children (the spider and its ingest writer)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == pid or int(fields[1]) == pid:
                status = (stat.parent / "status").read_text()
                total += next(
                    int(line.split()[1]) / 1024
                    for line in status.splitlines()
                    if line.startswith("VmRSS:")
                )
        except (OSError, IndexError, ValueError, StopIteration):
            continue  # a process that ended between listing and reading
    return total


def run_child(
    mode: str, base_url: str, db_url: str, pages: int, site: PreRenderedSite
) -> dict[str, Any]:
    """Run one spider child; sample its process tree's RSS from the first page to the end."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, "--base", base_url, "--db", db_url,
         "--pages", str(pages)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    first_page = site.page_requests
    baseline: float | None = None
    peak = 0.0
    while child.poll() is None:
        rss = tree_rss_mb(child.pid)
        if baseline is None and site.page_requests > first_page + 10:
            baseline = rss
        peak = max(peak, rss)
        time.sleep(0.25)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"{mode} child failed with {child.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["tree_rss_growth_mb"] = peak - (baseline or peak)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--child", choices=["full", "parse"])
    parser.add_argument("--base")
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.child == "full":
        print(json.dumps(child_full(args.base, args.db, args.pages)))
        return
    if args.child == "parse":
        print(json.dumps(child_parse_only(args.base, args.pages)))
        return

    site = PreRenderedSite()
    site.start()
    site.pages = render_pages(args.pages, site.base_url)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/bench.db"
        before = site.page_requests
        parse = run_child("parse", site.base_url, db_url, args.pages, site)
        parse_pages = site.page_requests - before
        before = site.page_requests
        full = run_child("full", site.base_url, db_url, args.pages, site)
        full_pages = site.page_requests - before
    site.stop()
    full_rate = full_pages / full["seconds"]
    parse_rate = parse_pages / parse["seconds"]
    result = {
        "pages": args.pages,
        "full_pages": full_pages,
        "full_items": full["items"],
        "full_status": full["status"],
        "full_pages_per_s": round(full_rate, 1),
        "parse_only_pages": parse_pages,
        "parse_only_pages_per_s": round(parse_rate, 1),
        "ratio": round(full_rate / parse_rate, 3),
        "full_rss_growth_mb": round(full["tree_rss_growth_mb"], 1),
        "parse_only_rss_growth_mb": round(parse["tree_rss_growth_mb"], 1),
    }
    print(
        f"full pipeline: {full_pages} pages in {full['seconds']:.1f} s ({full_rate:.1f} pages/s), "
        f"{full['items']} items; parse-only: {parse_pages} pages in {parse['seconds']:.1f} s "
        f"({parse_rate:.1f} pages/s)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
