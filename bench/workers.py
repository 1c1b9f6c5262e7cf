"""`chanwatch worker` throughput, on a throw-away PostgreSQL database.

1. **dispatch**: target runs per second one worker process completes with a no-op collector,
   so only the Procrastinate path is measured: `enqueue_due` queues `crawl_target` jobs, the
   worker fetches each, claims the target, opens its run, records the outcome and next due
   time, releases the claim, and Procrastinate finishes the job. Telegram targets, the worker's
   default concurrency (4).

   The child process builds the worker with `crawler.jobs.worker.build_app` and a `Runtime`
   whose `collectors` maps every kind to a no-op one. As a cross-check on the product as
   shipped, `chanwatch worker --no-http` itself runs the same targets with no
   Telegram account configured: each run is claimed, opened, recorded (`no_account`) and
   released without a collector (`cli_no_account`).

2. **spiders**: 1 vs 2 `chanwatch worker --no-http` processes on four fixture sites
   (127.0.0.2-5, every page answering in 200 ms), `web_page` targets spread over them, so
   the per-site lock `site:<origin>` serializes each host. Real spider child processes (about
   a second of start-up each), download delay 0. Pages/s counts ok runs between the first
   run's start and the last run's end. Legs at `--concurrency 4` (the CLI's default) and 1.

    .venv/bin/python bench/workers.py [--runs 2000] [--pages 40] [--leg-timeout 300]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from throwaway_db import postgres_engine

from crawler.collect import RunStatus, Sink, TargetOutcome
from crawler.jobs import worker as product
from crawler.locators import TargetKind
from crawler.logging import configure
from crawler.settings import Settings
from sandbox.site import FixtureSite, SiteModel, WebPage
from storage.migrate import job_queue_installed, upgrade_job_queue
from storage.models import CrawlRun, Target, Watchlist
from storage.watchlist_store import TargetRow

REPO = Path(__file__).resolve().parents[1]
CHANWATCH = Path(sys.executable).parent / "chanwatch"
# Spider children (and the workers) get the tests' loopback-only socket guard.
CHILD_GUARD = REPO / "tests" / "integration" / "child_guard"
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
PAGE_DELAY_S = 0.2
T0 = datetime(2026, 1, 5, tzinfo=UTC)


class Noop:
    name = "noop"

    def unavailable(self, settings: Settings) -> TargetOutcome | None:
        return None

    async def collect(self, target: TargetRow, run: Sink) -> TargetOutcome:
        return TargetOutcome(RunStatus.OK)


NOOP = {kind: Noop for kind in TargetKind}


# -- the dispatch worker (child process) ---------------------------------------------------


def dispatch_child(concurrency: int) -> None:
    """Serve as one worker until SIGTERM (run by the parent with `--dispatch-child`)."""
    from storage.engine import make_engine

    configure("warning")
    settings = Settings()
    engine = make_engine(settings.database_url)
    runtime = product.Runtime(engine, settings, (), collectors=NOOP)
    app = product.build_app(runtime, concurrency=concurrency, chores=())
    asyncio.run(product.run_worker(app, runtime, concurrency=concurrency, grace_s=10))


# -- the parent ----------------------------------------------------------------------------


def worker_env(url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANWATCH_")}
    env.update(
        CHANWATCH_DATABASE_URL=url,
        CHANWATCH_MEDIA__HASH_PROCESSES="0",
        CHANWATCH_WORKER__ENQUEUE_EVERY_S="1",
        CHANWATCH_WORKER__POLL_S="0.2",
        CHANWATCH_WORKER__HEARTBEAT_S="1",
        CHANWATCH_WORKER__STALLED_AFTER_S="10",
        PYTHONPATH=os.pathsep.join([str(CHILD_GUARD), str(REPO), str(REPO / "bench")]),
        **{f"CHANWATCH_{key.upper()}": value for key, value in settings.items()},
    )
    return env


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes themselves (not their children)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextlib.contextmanager
def processes(commands: list[list[str]], env: dict[str, str], logs: Path) -> Iterator[list[int]]:
    """Start the workers (yields their pids); SIGTERM them on the way out (SIGKILL after
    30 s)."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for n, command in enumerate(commands):
            with (logs / f"worker-{n}.err").open("w") as err:
                started.append(
                    subprocess.Popen(
                        command, env=env, cwd=logs, stdout=subprocess.DEVNULL, stderr=err
                    )
                )
        yield [process.pid for process in started]
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def add_targets(engine: Engine, kind: str, locators: list[str]) -> None:
    with engine.begin() as conn:
        list_id = conn.execute(
            insert(Watchlist).values(name="bench", created_at=T0).returning(Watchlist.id)
        ).scalar_one()
        conn.execute(
            insert(Target),
            [
                {"watchlist_id": list_id, "kind": kind, "locator": locator, "interval_s": 86400,
                 "tags": [], "options": {}, "priority": 0, "enabled": True, "added_at": T0,
                 "consecutive_failures": 0}
                for locator in locators
            ],
        )  # fmt: skip


def runs_done(engine: Engine) -> tuple[int, int, datetime | None, datetime | None]:
    """(finished runs, ok runs, first start, last end)."""
    with engine.connect() as conn:
        done, first, last = conn.execute(
            select(func.count(), func.min(CrawlRun.started_at), func.max(CrawlRun.finished_at))
            .where(CrawlRun.finished_at.is_not(None))
        ).one()  # fmt: skip
        ok = conn.execute(
            select(func.count()).select_from(CrawlRun).where(CrawlRun.status == "ok")
        ).scalar_one()
    return done, ok, first, last


def wait_runs(engine: Engine, count: int, timeout: float, label: str) -> dict[str, Any]:
    """Poll until `count` runs finished (or `timeout`); the rate over the runs' own span."""
    begun = time.monotonic()
    shown = -1
    while True:
        done, ok, first, last = runs_done(engine)
        elapsed = time.monotonic() - begun
        if done >= count or elapsed > timeout:
            break
        if int(elapsed) // 5 != shown:
            shown = int(elapsed) // 5
            print(f"  {label}: {done}/{count} runs after {elapsed:.0f} s", flush=True)
        time.sleep(0.2)
    span = (last - first).total_seconds() if first and last else 0.0
    return {
        "runs": done, "ok": ok, "timed_out": done < count, "span_s": round(span, 2),
        "wall_s": round(time.monotonic() - begun, 2),
        "runs_per_s": round(done / span, 1) if span else 0.0,
    }  # fmt: skip


def fresh_queue(engine: Engine) -> None:
    if not job_queue_installed(engine):
        upgrade_job_queue(engine)


def dispatch(runs: int, timeout: float, logs: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {"runs": runs, "concurrency": 4}
    legs = {
        "noop_collector": [sys.executable, __file__, "--dispatch-child", "4"],
        "cli_no_account": [str(CHANWATCH), "worker", "--no-http", "--concurrency", "4"],
    }
    for label, command in legs.items():
        with postgres_engine() as engine:
            fresh_queue(engine)
            add_targets(engine, "telegram", [f"@room_{n:05d}" for n in range(runs)])
            # One tick queues up to 500 targets a second: above what one worker runs.
            env = worker_env(engine.url.render_as_string(hide_password=False))
            print(f"dispatch {label}: 1 worker, {runs} telegram targets", flush=True)
            with processes([command], env, logs) as pids:
                leg = wait_runs(engine, runs, timeout, label)
                leg["worker_cpu_ms_per_run"] = round(cpu_s(pids) * 1000 / max(leg["runs"], 1), 2)
            leg["statuses"] = statuses(engine)
        print(f"dispatch {label}: {leg}", flush=True)
        figures[label] = leg
    return figures


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(CrawlRun.status, func.count()).group_by(CrawlRun.status)
        ).all()  # fmt: skip
    return {str(status): count for status, count in rows}


def errors(engine: Engine) -> list[str]:
    """The distinct errors of failed runs (a benchmark that failed runs says why)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(CrawlRun.error).where(CrawlRun.error.is_not(None)).distinct().limit(5)
        ).scalars()
        return [str(error)[:300] for error in rows]


def start_sites(pages_per_host: int) -> list[FixtureSite]:
    sites = []
    for host in HOSTS:
        model = SiteModel()
        for n in range(pages_per_host):
            path = f"/page{n:03d}"
            model.pages[path] = WebPage(title=f"page {n}", paragraphs=(f"text {n} on {host}",))
            model.delays[path] = PAGE_DELAY_S
        sites.append(FixtureSite.start_in_thread(model, host=host))
    return sites


def spider_leg(
    sites: list[FixtureSite], pages: int, workers: int, concurrency: int, timeout: float,
    logs: Path,
) -> dict[str, Any]:  # fmt: skip
    per_host = pages // len(sites)
    # Interleaved, so every host has work from the start.
    locators = [site.url(f"/page{n:03d}") for n in range(per_host) for site in sites]
    allow = json.dumps([f"{site.host}:{site.port}" for site in sites])
    with postgres_engine() as engine:
        fresh_queue(engine)
        add_targets(engine, "web_page", locators)
        env = worker_env(
            engine.url.render_as_string(hide_password=False),
            net__allow_private_hosts=allow, spiders__download_delay_s="0",
            spiders__max_run_s="60",
        )  # fmt: skip
        command = [str(CHANWATCH), "worker", "--no-http", "--concurrency", str(concurrency)]
        label = f"{workers} worker(s) x concurrency {concurrency}"
        print(f"spiders {label}: {len(locators)} web_page targets on {len(sites)} hosts",
              flush=True)  # fmt: skip
        with processes([command] * workers, env, logs) as pids:
            leg = wait_runs(engine, len(locators), timeout, label)
            leg["workers_cpu_s"] = round(cpu_s(pids), 2)
        leg["statuses"] = statuses(engine)
        leg["errors"] = errors(engine)
        with engine.connect() as conn:
            leg["max_runs_at_once_per_host"] = overlap(conn, sites)
    leg["pages_per_s"] = round(leg["ok"] / leg["span_s"], 2) if leg["span_s"] else 0.0
    print(f"spiders {label}: {leg}", flush=True)
    return leg


def overlap(conn: Any, sites: list[FixtureSite]) -> int:
    """Most runs of one host's targets that overlapped in time (the site lock keeps it 1)."""
    worst = 0
    for site in sites:
        rows = conn.execute(
            text(
                "SELECT r.started_at, r.finished_at FROM crawl_run r JOIN target t "
                "ON t.id = r.target_id WHERE t.locator LIKE :prefix"
            ),
            {"prefix": site.base_url + "/%"},
        ).all()
        events = sorted([(s, 1) for s, _ in rows] + [(f, -1) for _, f in rows if f])
        level = 0
        for _, step in events:
            level += step
            worst = max(worst, level)
    return worst


def spiders(pages: int, timeout: float, logs: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "pages": pages, "hosts": len(HOSTS), "page_delay_ms": int(PAGE_DELAY_S * 1000),
    }  # fmt: skip
    sites = start_sites(pages // len(HOSTS))
    try:
        for concurrency in (4, 1):
            legs = {n: spider_leg(sites, pages, n, concurrency, timeout, logs) for n in (1, 2)}
            one, two = legs[1]["pages_per_s"], legs[2]["pages_per_s"]
            figures[f"concurrency_{concurrency}"] = {
                "one_worker": legs[1], "two_workers": legs[2],
                "ratio": round(two / one, 2) if one else None,
            }  # fmt: skip
    finally:
        for site in sites:
            site.stop()
    return figures


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--dispatch-child":
        dispatch_child(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000, help="dispatch: targets per leg")
    parser.add_argument("--pages", type=int, default=40, help="spiders: targets per leg")
    parser.add_argument("--leg-timeout", type=float, default=300.0)
    parser.add_argument("--only", choices=["dispatch", "spiders"])
    args = parser.parse_args()
    configure("warning")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        logs = Path(folder)
        if args.only in (None, "dispatch"):
            figures["dispatch"] = dispatch(args.runs, args.leg_timeout, logs)
        if args.only in (None, "spiders"):
            figures["spiders"] = spiders(args.pages, args.leg_timeout, logs)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
