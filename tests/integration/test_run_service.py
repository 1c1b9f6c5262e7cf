"""`chanwatch run`: the scheduler against the fake Telegram DC and the fixture site.

Hours of scheduling play under a virtual clock (crawler/jobs/clock.py): every target runs once
per due period, Telegram runs never share an account, spider runs never share a site. A short
real-time run as a process proves the signals, the health probes and the metrics.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator, Set
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from crawler.jobs.clock import VirtualClock
from crawler.jobs.metrics import Metrics
from crawler.jobs.service import Scheduler
from crawler.settings import Settings
from sandbox.site import FixtureSite, SiteModel, WebPage
from sandbox.telegram_dc import FakeDC, World
from storage.models import CrawlRun, Target, TelegramAccount
from storage.watchlist_store import TargetSpec, add_target
from tests.integration.spider_world import CHILD_GUARD
from tests.integration.telegram_support import API_HASH, PausingWorld, fill, items

REPO_ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class StopAt(VirtualClock):
    """A virtual clock that stops the scheduler instead of moving past `end`."""

    def __init__(self, start: datetime, end: datetime) -> None:
        super().__init__(start)
        self.end = end

    async def wait(
        self, seconds: float | None, running: Set[asyncio.Future[object]], stop: asyncio.Event
    ) -> None:
        if not running and (seconds is None or self.now() + timedelta(seconds=seconds) > self.end):
            stop.set()
            return
        await super().wait(seconds, running, stop)


@pytest.fixture
def guarded_children(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(CHILD_GUARD), os.environ.get("PYTHONPATH", "")])
    )


@pytest.fixture
def two_sites() -> Iterator[list[FixtureSite]]:
    sites = []
    for _ in range(2):
        model = SiteModel()
        for n in range(3):
            model.pages[f"/page{n}"] = WebPage(title=f"page {n}", paragraphs=(f"text {n}",))
        sites.append(FixtureSite.start_in_thread(model))
    yield sites
    for site in sites:
        site.stop()


def watch(engine: Engine, kind: str, locator: str) -> None:
    with engine.begin() as conn:
        add_target(conn, "rooms", TargetSpec(kind, locator, HOUR), added_by="test", at=T0)


@pytest.mark.usefixtures("no_real_telegram", "guarded_children")
def test_fifty_targets_run_once_per_period_without_sharing_accounts_or_sites(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC,
    two_sites: list[FixtureSite],
) -> None:  # fmt: skip
    channels = []
    for n in range(44):
        channel = telegram_world.add_channel(f"room_{n:02d}", f"Room {n}")
        fill(telegram_world, channel, [1, 2, 3])
        channels.append(channel)
        watch(engine, "telegram", f"@room_{n:02d}")
    for site in two_sites:
        for n in range(3):
            watch(engine, "web_page", site.url(f"/page{n}"))
    sessions = [threaded_dc.string_session() for _ in range(4)]
    settings = Settings(
        database_url=db_url,
        telegram={"api_id": 12345, "api_hash": API_HASH,
                  "accounts": [{"name": f"acct{i}", "session": s} for i, s in enumerate(sessions)]},
        net={"allow_private_hosts": [f"127.0.0.1:{site.port}" for site in two_sites]},
        spiders={"download_delay_s": 0, "max_run_s": 60},
    )  # fmt: skip
    metrics = Metrics()
    scheduler = Scheduler(
        engine, settings, (), concurrency=8, clock=StopAt(T0, T0 + timedelta(hours=1.5)),
        rng=random.Random(7), metrics=metrics, chores=(),
    )  # fmt: skip

    asyncio.run(scheduler.serve(grace_s=30))

    with engine.connect() as conn:
        runs = conn.execute(
            select(Target.kind, Target.locator, CrawlRun.status, CrawlRun.started_at,
                   CrawlRun.finished_at)
            .join(Target, Target.id == CrawlRun.target_id)
            .order_by(CrawlRun.started_at)
        ).all()  # fmt: skip
    by_target = defaultdict(list)
    for kind, locator, status, started, finished in runs:
        by_target[(kind, locator)].append((status, started, finished))
    assert len(by_target) == 50
    for target, seen in by_target.items():
        second = "not_modified" if target[0] == "web_page" else "ok"  # the ETag came back
        assert [status for status, _, _ in seen] == ["ok", second], target
        (_, _, first_end), (_, second_start, _) = seen
        assert timedelta(hours=1) <= second_start - first_end <= timedelta(minutes=66), target
    assert threaded_dc.concurrent_key_use == []
    for channel in channels:
        assert sorted(items(engine, channel.id)) == [1, 2, 3]
    for site in two_sites:
        # One page at a time per site: the requests of two runs never interleave.
        pages = [r.path for r in site.requests if r.path != "/robots.txt"]
        assert sorted(pages) == sorted(f"/page{n}" for n in range(3) for _ in range(2))
    exposition = metrics.render().decode()
    assert 'chanwatch_runs_total{kind="telegram",status="ok"} 88.0' in exposition
    assert 'chanwatch_runs_total{kind="web_page",status="ok"} 6.0' in exposition
    assert 'chanwatch_runs_total{kind="web_page",status="not_modified"} 6.0' in exposition


@pytest.mark.usefixtures("guarded_children")
def test_an_unserved_target_keeps_its_period_and_a_failing_one_backs_off(
    engine: Engine, db_url: str
) -> None:
    watch(engine, "telegram", "@nobody_home")  # no account configured: not a failure
    watch(engine, "web_page", "http://127.0.0.1:9/never")  # refused: not an admitted host
    scheduler = Scheduler(
        engine, Settings(database_url=db_url), (), concurrency=2,
        clock=StopAt(T0, T0 + timedelta(hours=6.5)), rng=random.Random(3), chores=(),
    )  # fmt: skip

    asyncio.run(scheduler.serve())

    with engine.connect() as conn:
        rows = conn.execute(
            select(Target.locator, CrawlRun.status, CrawlRun.started_at)
            .join(Target, Target.id == CrawlRun.target_id)
            .order_by(CrawlRun.started_at)
        ).all()
    starts = defaultdict(list)
    for locator, status, started in rows:
        starts[locator].append((status, started))
    # Not a failure: every period (one an hour plus up to 6 minutes of jitter).
    assert {status for status, _ in starts["@nobody_home"]} == {"no_account"}
    assert 6 <= len(starts["@nobody_home"]) <= 7
    # Failing: 1 h, then 2 h, then 4 h apart.
    failing = [started for _, started in starts["http://127.0.0.1:9/never"]]
    gaps = [b - a for a, b in itertools.pairwise(failing)]
    assert {status for status, _ in starts["http://127.0.0.1:9/never"]} == {"refused"}
    assert len(failing) == 3
    assert timedelta(hours=1) <= gaps[0] < timedelta(hours=1.2)
    assert timedelta(hours=2) <= gaps[1] < timedelta(hours=2.2)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


CLI = "import sys; from crawler.cli.main import run; sys.exit(run(sys.argv[1:]))"


@pytest.mark.usefixtures("no_real_telegram")
def test_sigterm_lets_the_running_page_commit_and_exits_zero(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    world = PausingWorld(pause_at=4)  # the backfill probe, then pages 1, 2 and 3
    small = world.add_channel("small_room", "Small")
    fill(world, small, [1, 2])
    big = world.add_channel("big_room", "Big")
    fill(world, big, list(range(1, 451)))
    world.channel_id = big.id
    watch(engine, "telegram", "@small_room")
    watch(engine, "telegram", "@big_room")
    with FakeDC.start_in_thread(world) as dc:
        session = dc.string_session()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANWATCH_")}
        env.update(
            CHANWATCH_DATABASE_URL=db_url,
            CHANWATCH_TELEGRAM__API_ID="12345",
            CHANWATCH_TELEGRAM__API_HASH=API_HASH,
            CHANWATCH_TELEGRAM__ACCOUNTS=json.dumps([{"name": "a", "session": session}]),
            PYTHONPATH=os.pathsep.join([str(CHILD_GUARD), str(REPO_ROOT)]),
        )  # fmt: skip
        child = subprocess.Popen(
            [sys.executable, "-c", CLI, "run", "--http", "127.0.0.1:0", "--grace", "60"],
            env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            line = child.stderr.readline()
            base = line.strip().rsplit(" on ", 1)[1].rstrip("/")
            assert _get(f"{base}/healthz") == (200, "ok\n")
            assert _get(f"{base}/readyz")[0] == 200
            assert world.paused.wait(timeout=60), "the big room never reached its third page"
            status, exposition = _get(f"{base}/metrics")
            assert status == 200
            assert 'chanwatch_runs_total{kind="telegram",status="ok"} 1.0' in exposition

            child.send_signal(signal.SIGTERM)
            world.release.set()
            assert child.wait(timeout=60) == 0, child.stderr.read()
        finally:
            if child.poll() is None:
                child.kill()
            world.release.set()
        assert dc.concurrent_key_use == []

    stored = sorted(items(engine, big.id))
    # Whole pages of 100 in order with no hole, the page in flight at SIGTERM included, and
    # the run stopped there rather than going on to the end.
    assert stored == list(range(1, len(stored) + 1))
    assert len(stored) % 100 == 0 and 200 <= len(stored) < 450
    assert sorted(items(engine, small.id)) == [1, 2]
    with engine.connect() as conn:
        last = conn.execute(
            select(CrawlRun.status, CrawlRun.error).order_by(CrawlRun.id.desc()).limit(1)
        ).one()
    assert last.status == "deferred" and "page boundary" in (last.error or "")


@pytest.mark.usefixtures("no_real_telegram")
def test_a_flood_wait_defers_the_target_to_the_end_of_the_wait_and_is_counted(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("busy_room", "Busy")
    fill(telegram_world, channel, [1, 2])
    telegram_world.schedule_error("channels.getFullChannel", "FLOOD_WAIT_600", channel=channel)
    watch(engine, "telegram", "@busy_room")
    settings = Settings(
        database_url=db_url,
        telegram={"api_id": 12345, "api_hash": API_HASH,
                  "accounts": [{"name": "a", "session": threaded_dc.string_session()}]},
    )  # fmt: skip
    metrics = Metrics()
    scheduler = Scheduler(
        engine, settings, (), concurrency=2, clock=StopAt(T0, T0 + timedelta(minutes=30)),
        metrics=metrics, chores=(),
    )  # fmt: skip

    asyncio.run(scheduler.serve())

    with engine.connect() as conn:
        status, due = conn.execute(select(Target.last_status, Target.next_due_at)).one()
        flood_until = conn.execute(select(TelegramAccount.flood_until)).scalar_one()
    assert status == "deferred" and due == flood_until  # back exactly when the wait ends
    exposition = metrics.render().decode()
    assert "chanwatch_flood_waits_total 1.0" in exposition
    assert "chanwatch_flood_wait_seconds_total 600.0" in exposition
    assert 'chanwatch_runs_total{kind="telegram",status="deferred"} 1.0' in exposition
