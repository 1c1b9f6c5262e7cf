"""The collector as a separate process: killed between pages, and two processes on one session.

A world that holds one getHistory answer until the test lets it go makes "between pages"
exact: the pages before it are committed, the process is busy waiting for the next one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from sandbox.telegram_dc import FakeDC
from storage.models import CrawlRun
from tests.integration.telegram_support import (
    API_HASH,
    PausingWorld,
    crawl,
    fill,
    items,
    settings_for,
    statuses,
    watch,
)

pytestmark = pytest.mark.usefixtures("no_real_telegram")

REPO_ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from sandbox.telegram_dc.guards import no_real_telegram
from crawler.cli.main import run

with no_real_telegram():
    sys.exit(run(["crawl", "--once"]))
"""


@dataclass
class Paused:
    world: PausingWorld
    dc: FakeDC
    session: str
    child: subprocess.Popen[str]
    channel_id: int


@pytest.fixture
def paused_child(db_url: str, engine: Engine, tmp_path: Path) -> Iterator[Paused]:
    """A `chanwatch crawl --once` process stopped while it asks for its third page of 100."""
    world = PausingWorld(pause_at=4)  # the backfill probe, then pages 1, 2 and 3
    channel = world.add_channel("newsroom", "Newsroom")
    fill(world, channel, list(range(1, 451)))
    # Served but not watched: a test may watch it (the world is locked while the DC pauses).
    fill(world, world.add_channel("sportsroom", "Sports"), [1])
    watch(engine, "newsroom")
    with FakeDC.start_in_thread(world) as dc:
        session = dc.string_session()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANWATCH_")}
        env.update(
            CHANWATCH_DATABASE_URL=db_url,
            CHANWATCH_TELEGRAM__API_ID="12345",
            CHANWATCH_TELEGRAM__API_HASH=API_HASH,
            CHANWATCH_TELEGRAM__ACCOUNTS=json.dumps([{"name": "acct1", "session": session}]),
            PYTHONPATH=str(REPO_ROOT),
        )
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD], env=env, cwd=tmp_path, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            if not world.paused.wait(timeout=60):
                child.kill()
                pytest.fail(f"the collector never reached page 3: {child.communicate()[1]}")
            yield Paused(world, dc, session, child, channel.id)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            world.release.set()


def test_a_crash_between_pages_then_a_rerun_gives_the_rows_of_an_uninterrupted_run(
    engine: Engine, db_url: str, paused_child: Paused
) -> None:
    paused_child.child.kill()
    paused_child.child.wait()
    paused_child.world.release.set()
    # Page 3 is asked for while page 2 is being committed: the kill lands before or after that
    # commit, never inside it.
    committed = sorted(items(engine, paused_child.channel_id))
    assert committed in (list(range(1, 101)), list(range(1, 201)))

    # The dead process's lease is taken over at once (same host, its pid is gone).
    settings = settings_for(db_url, paused_child.session)
    assert statuses(crawl(engine, settings, "@newsroom")) == {"@newsroom": "ok"}

    got = items(engine, paused_child.channel_id)
    assert {i: (r["text"], r["version_count"]) for i, r in got.items()} == {
        i: (f"post {i}", 1) for i in range(1, 451)
    }
    with engine.connect() as conn:
        runs = conn.execute(select(CrawlRun.status, CrawlRun.items_new)).all()
    # The dead process's run is closed as abandoned by the run that claimed the target next.
    assert sorted(runs) == [("abandoned", len(committed)), ("ok", 450 - len(committed))]


def test_a_second_process_refuses_a_session_in_use(
    engine: Engine, db_url: str, paused_child: Paused
) -> None:
    # Another channel, so that the target's own claim does not stop the second process first.
    watch(engine, "sportsroom")
    calls_before = len(paused_child.dc.calls())
    # The same auth key under another account name is still the same session.
    settings = settings_for(db_url, paused_child.session)
    renamed = settings.model_copy(
        update={"telegram": settings.telegram.model_copy(
            update={"accounts": (settings.telegram.accounts[0].model_copy(
                update={"name": "same_key_other_name"}),)}
        )}
    )  # fmt: skip
    for candidate in (settings, renamed):
        [result] = crawl(engine, candidate, "@sportsroom")
        assert result.outcome.status == "deferred"
        assert "in use by another process" in (result.outcome.message or "")
    [busy] = crawl(engine, settings, "@newsroom")
    assert (busy.outcome.status, busy.outcome.message) == (
        "deferred", "being crawled by another process"
    )
    assert len(paused_child.dc.calls()) == calls_before
    assert paused_child.child.poll() is None
