"""`chanwatch worker`: two Procrastinate workers crawl 200 targets, and one is killed mid-job.

The fake DC holds one getHistory of the big room until the test has killed the worker running
it, so "mid-job" is exact: that worker's job stays `doing` with a dead heartbeat, the other
worker's `retry_stalled` queues it again, and the retried job takes over the dead process's
target claim and Telegram account (same host, process gone: at once).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from crawler.cli.main import run
from crawler.crawl import crawl_once
from crawler.settings import Settings
from sandbox.site import FixtureSite, SiteModel, WebPage
from sandbox.telegram_dc import FakeDC
from storage.migrate import job_queue_installed, upgrade_job_queue
from storage.models import CrawlRun, Item, Target
from storage.models.operations import Lease
from storage.watchlist_store import TargetSpec, add_target
from tests.conftest import truncate_all
from tests.integration.spider_world import CHILD_GUARD
from tests.integration.telegram_support import API_HASH, PausingWorld, fill, items

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
from sandbox.telegram_dc.guards import no_real_telegram
from crawler.cli.main import run

with no_real_telegram():
    sys.exit(run(sys.argv[1:]))
"""
SMALL_ROOMS, PAGES, ACCOUNTS = 195, 4, 4
BIG = 450  # messages: the backfill probe, then five pages of 100
HOUR = 3600
# Generous bounds for a loaded two-core machine; nothing waits for them unless a step hangs.
DEADLINE_S = 75.0


@dataclass
class Worker:
    process: subprocess.Popen[str]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def base_url(self) -> str:
        found = re.search(r"health and metrics on (http://\S+)/", self.stderr())
        return found.group(1) if found else ""


def wait_for(check: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    """Poll `check` (the database, a log file: nothing to await) every 0.1 s up to `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read().decode()


@pytest.fixture
def pg_engine(postgres_engine: Engine) -> Iterator[Engine]:
    """The session's PostgreSQL database, emptied, with the job queue installed and empty."""
    upgrade_job_queue(postgres_engine)
    _empty(postgres_engine)
    yield postgres_engine
    _empty(postgres_engine)


def _empty(engine: Engine) -> None:
    truncate_all(
        engine, "procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_events",
        "procrastinate_workers",
    )  # fmt: skip


def test_worker_on_sqlite_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'chanwatch.db'}")
    monkeypatch.chdir(tmp_path)

    assert run(["worker", "--no-http"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "workers need PostgreSQL" in err and "chanwatch run" in err


@pytest.mark.postgres
def test_db_upgrade_twice_installs_the_job_queue_once(
    postgres_url: str,
    postgres_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", postgres_url)
    monkeypatch.chdir(tmp_path)
    outputs = []
    for _ in range(2):
        assert run(["db", "upgrade"]) == 0
        outputs.append(capsys.readouterr().out)

    assert job_queue_installed(postgres_engine)
    # The second run finds the queue's tables and leaves them alone.
    assert outputs[1].splitlines() == [outputs[1].splitlines()[0]]
    assert outputs[1].startswith("database at revision ")


@pytest.mark.postgres
@pytest.mark.usefixtures("no_real_telegram")
def test_two_workers_and_one_killed_mid_job_crawl_every_target_once_at_a_time(
    pg_engine: Engine, postgres_url: str, tmp_path: Path
) -> None:
    engine = pg_engine
    world = PausingWorld(pause_at=3)  # the backfill probe, page 1, then page 2 is held
    big = world.add_channel("big_room", "Big")
    fill(world, big, list(range(1, BIG + 1)))
    world.channel_id = big.id
    small = [world.add_channel(f"room_{n:03d}", f"Room {n}") for n in range(SMALL_ROOMS)]
    for channel in small:
        fill(world, channel, [1, 2, 3])
    model = SiteModel()
    for n in range(PAGES):
        model.pages[f"/page{n}"] = WebPage(title=f"page {n}", paragraphs=(f"text {n}",))
    site = FixtureSite.start_in_thread(model)
    # The big room first: it is the most overdue target, so its job is the first one fetched.
    for locator in ["@big_room", *(f"@room_{n:03d}" for n in range(SMALL_ROOMS))]:
        _watch(engine, "telegram", locator)
    for n in range(PAGES):
        _watch(engine, "web_page", site.url(f"/page{n}"))

    with FakeDC.start_in_thread(world) as dc:
        sessions = [dc.string_session() for _ in range(ACCOUNTS)]
        env = _worker_env(postgres_url, sessions, site)
        workers = [_start_worker(env, tmp_path, name) for name in ("a", "b")]
        try:
            for worker in workers:
                wait_for(lambda w=worker: bool(w.base_url()), "the worker's HTTP line", 30)
            assert _get(f"{workers[0].base_url()}/healthz") == (200, "ok\n")
            assert world.paused.wait(timeout=DEADLINE_S), "the big room never reached page 2"

            # Who runs the big room: its claim names the process; its run names the account.
            with engine.connect() as conn:
                owner = conn.execute(
                    select(Lease.owner).where(Lease.kind == "target",
                                              Lease.key == "telegram:@big_room")
                ).scalar_one()  # fmt: skip
                account = conn.execute(
                    select(CrawlRun.account).where(CrawlRun.finished_at.is_(None),
                                                   CrawlRun.collector == "telegram")
                    .join(Target, Target.id == CrawlRun.target_id)
                    .where(Target.locator == "@big_room")
                ).scalar_one()  # fmt: skip
            pid = int(owner.split(":")[1])
            victim = next(w for w in workers if w.process.pid == pid)
            survivor = next(w for w in workers if w is not victim)
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait()
            killed_at = datetime.now(UTC)
            # With a concurrency of 2 it may have been mid-way through a second target too.
            # Read after the kill: a small room can finish between an earlier read and the
            # kill, and a dead process's claims stay until its stalled jobs are retried
            # (seconds later), so these are exactly the runs it left open.
            with engine.connect() as conn:
                held = set(
                    conn.execute(
                        select(Lease.key).where(Lease.kind == "target", Lease.owner == owner)
                    ).scalars()
                )
            world.release.set()

            wait_for(lambda: _ok_targets(engine) == SMALL_ROOMS + 1 + PAGES, "every target ok")
            status, exposition = _get(f"{survivor.base_url()}/metrics")
            assert status == 200 and "chanwatch_queue_depth" in exposition
            survivor.process.send_signal(signal.SIGTERM)
            assert survivor.process.wait(timeout=30) == 0, survivor.stderr()[-2000:]
        finally:
            world.release.set()
            for worker in workers:
                if worker.process.poll() is None:
                    worker.process.kill()
                worker.process.wait()
            site.stop()

        # The dead worker's account serves a run of this process now (its lease was the dead
        # process's; on this host that is taken over at once, elsewhere after lease_seconds).
        late = world.add_channel("late_room", "Late")
        fill(world, late, [1])
        _watch(engine, "telegram", "@late_room")
        index = int(account.removeprefix("acct"))
        alone = Settings(
            database_url=postgres_url,
            telegram={"api_id": 12345, "api_hash": API_HASH,
                      "accounts": [{"name": account, "session": sessions[index]}],
                      "resolve_budget": 1000},
        )  # fmt: skip
        [result] = asyncio.run(crawl_once(engine, alone, locator="@late_room"))
        assert result.outcome.status == "ok", result.outcome.message
        assert sorted(items(engine, late.id)) == [1]
        assert dc.concurrent_key_use == []

    runs = _runs(engine)
    # The killed jobs were retried and completed; the abandoned runs are the dead process's.
    assert "telegram:@big_room" in held
    for target, seen in runs.items():
        statuses = [status for status, _, _ in seen]
        if f"{target[0]}:{target[1]}" in held:
            assert statuses == ["abandoned", "ok"], target
            assert seen[1][1] >= killed_at
        else:
            assert statuses == ["ok"], target  # every other target ran once
        # Never twice at once (the abandoned run counts as ending when the retried job closed
        # it, before that job's own run began).
        for (_, _, end), (_, start, _) in itertools.pairwise(seen):
            assert end <= start, f"{target} ran twice at once"
    # No hole in any channel, and no item twice.
    assert sorted(items(engine, big.id)) == list(range(1, BIG + 1))
    for channel in small:
        assert sorted(items(engine, channel.id)) == [1, 2, 3], channel.username
    with engine.connect() as conn:
        doubled = conn.execute(
            select(Item.source_id, Item.message_id).where(Item.message_id.is_not(None))
            .group_by(Item.source_id, Item.message_id).having(func.count() > 1)
        ).all()  # fmt: skip
        total = conn.execute(select(func.count()).select_from(Item)).scalar_one()
    assert doubled == []
    assert total == SMALL_ROOMS * 3 + BIG + 1 + PAGES  # the late room's one post included
    # One page of the site at a time, each fetched once.
    pages = [r.path for r in site.requests if r.path != "/robots.txt"]
    assert sorted(pages) == [f"/page{n}" for n in range(PAGES)]


def _watch(engine: Engine, kind: str, locator: str) -> None:
    with engine.begin() as conn:
        spec = TargetSpec(kind, locator, HOUR)
        add_target(conn, "rooms", spec, added_by="test", at=datetime.now(UTC))


def _worker_env(postgres_url: str, sessions: list[str], site: FixtureSite) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANWATCH_")}
    accounts = [{"name": f"acct{i}", "session": s} for i, s in enumerate(sessions)]
    env.update(
        CHANWATCH_DATABASE_URL=postgres_url,
        CHANWATCH_TELEGRAM__API_ID="12345",
        CHANWATCH_TELEGRAM__API_HASH=API_HASH,
        CHANWATCH_TELEGRAM__ACCOUNTS=json.dumps(accounts),
        CHANWATCH_TELEGRAM__RESOLVE_BUDGET="1000",
        CHANWATCH_TELEGRAM__LEASE_SECONDS="10",
        CHANWATCH_NET__ALLOW_PRIVATE_HOSTS=json.dumps([f"127.0.0.1:{site.port}"]),
        CHANWATCH_SPIDERS__DOWNLOAD_DELAY_S="0",
        CHANWATCH_SPIDERS__MAX_RUN_S="20",  # with lease_seconds: a 40 s target claim TTL
        CHANWATCH_MEDIA__HASH_PROCESSES="0",
        CHANWATCH_WORKER__ENQUEUE_EVERY_S="1",
        CHANWATCH_WORKER__POLL_S="0.2",
        CHANWATCH_WORKER__HEARTBEAT_S="0.5",
        CHANWATCH_WORKER__STALLED_AFTER_S="3",
        PYTHONPATH=os.pathsep.join([str(CHILD_GUARD), str(REPO_ROOT)]),
    )  # fmt: skip
    return env


def _start_worker(env: dict[str, str], tmp_path: Path, name: str) -> Worker:
    log = tmp_path / f"worker-{name}.err"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, "worker", "--concurrency", "2",
             "--http", "127.0.0.1:0", "--grace", "10"],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, text=True,
        )  # fmt: skip
    return Worker(process, log)


def _ok_targets(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(Target).where(Target.last_status == "ok")
        ).scalar_one()


def _runs(engine: Engine) -> dict[tuple[str, str], list[tuple[str, datetime, datetime]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Target.kind, Target.locator, CrawlRun.status, CrawlRun.started_at,
                   CrawlRun.finished_at)
            .join(Target, Target.id == CrawlRun.target_id)
            .order_by(CrawlRun.started_at)
        ).all()  # fmt: skip
    by_target: dict[tuple[str, str], list[tuple[str, datetime, datetime]]] = defaultdict(list)
    for kind, locator, status, started, finished in rows:
        assert finished is not None, f"{locator}: a run left open"
        by_target[(kind, locator)].append((status, started, finished))
    return by_target
