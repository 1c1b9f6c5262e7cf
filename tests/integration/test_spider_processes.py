"""Spider child processes: they die with their parent, keep their own time limit, and open no
listening socket and write no file of their own (Scrapy's remote-control server stays off).

Processes are found through /proc. A process's end in another process tree has no event this
one could await, so waits for one poll within a bound (well under the fixture site's 30 s hold
of a slow page, which is what an orphaned or overdue spider would otherwise wait out).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sandbox.site import SiteModel, WebPage
from spiders.runner import EXIT_ENDED, job_document
from storage import run_store, watchlist_store
from tests.integration.spider_world import SpiderWorld, world_factory

__all__ = ["world_factory"]

BOUND_S = 20.0
"""How long a process may take to appear or to end; the slow page is held for 30 s."""
T = TypeVar("T")


def _until(found: Callable[[], T], what: str) -> T:
    deadline = time.monotonic() + BOUND_S
    while not (value := found()):
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {BOUND_S:g} s")
        time.sleep(0.05)
    return value


def _children(pid: int) -> list[int]:
    found = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(child) for child in listing.read_text().split())
        except OSError:
            continue  # the thread ended while listing
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie: an orphan's zombie waits for a reaper, but runs no code."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _spider_child(parent: int) -> int | None:
    for pid in _children(parent):
        try:
            if b"spiders.runner" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None


def _sockets(pid: int) -> list[tuple[str, int]]:
    """(TCP state, remote port) of every TCP socket `pid` holds (state 0A is LISTEN); none for
    a process that has exited meanwhile (a child can be short-lived, e.g. a hash worker or a
    helper a library runs)."""
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:
        return []
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except FileNotFoundError:
            return []
        for line in lines:
            fields = line.split()
            if fields[9] in inodes:
                found.append((fields[3], int(fields[2].rsplit(":", 1)[1], 16)))
    return found


def _slow_page_world(world_factory: Callable[[SiteModel], SpiderWorld]) -> tuple[SpiderWorld, str]:
    model = SiteModel()
    model.pages["/slow"] = WebPage(title="Slow room list", paragraphs=("rooms",))
    model.delays["/slow"] = 30
    world = world_factory(model)
    url = world.site.url("/slow")
    world.watch("web_page", url)
    return world, url


def _written(world: SpiderWorld) -> tuple[Any, ...]:
    """Everything a spider run writes: content, its run's counters, spider state."""
    return (
        world.rows("SELECT id, text FROM item ORDER BY id"),
        world.rows("SELECT id, status, items_new, items_updated, batches FROM crawl_run"),
        world.rows("SELECT key, state FROM spider_state ORDER BY key"),
    )


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without chanwatch settings or XDG directories (so Scrapy's files, if
    any, would land under the HOME a test chose), plus `extra`."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CHANWATCH_", "XDG_"))
    }  # PYTHONPATH keeps world_factory's loopback guard
    return {**env, **extra}


def test_a_killed_crawl_takes_its_spider_and_writer_with_it(
    world_factory: Callable[[SiteModel], SpiderWorld], db_url: str, tmp_path: Path
) -> None:
    world, _url = _slow_page_world(world_factory)
    env = _clean_env(
        CHANWATCH_DATABASE_URL=db_url,
        CHANWATCH_NET__ALLOW_PRIVATE_HOSTS=json.dumps([f"127.0.0.1:{world.site.port}"]),
        CHANWATCH_SPIDERS__DOWNLOAD_DELAY_S="0",
    )
    crawl = subprocess.Popen(
        [sys.executable, "-c", "import sys; from crawler.cli.main import run; "
         "sys.exit(run(['crawl', '--once']))"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    spawned: list[int] = []
    try:
        spawned.append(_until(lambda: _spider_child(crawl.pid), "spider child"))
        spawned.extend(_until(lambda: _children(spawned[0]), "ingest writer"))
        _until(lambda: world.site.requests_to("/slow"), "request for the slow page")
        crawl.send_signal(signal.SIGKILL)
        crawl.wait()

        _until(lambda: not any(_alive(pid) for pid in spawned), "end of spider and writer")
    finally:
        for pid in [crawl.pid, *spawned]:  # after a failure: none may outlive the test
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        crawl.wait()
    written = _written(world)
    world.site.release_slow()  # what an orphan was waiting for: nobody is left to take it
    assert _written(world) == written
    assert world.scalar("SELECT count(*) FROM item") == 0


def _run_child(
    world: SpiderWorld, url: str, home: Path, cwd: Path, **spiders: Any
) -> subprocess.Popen[bytes]:
    """A spider child exactly as `SpiderCollector` starts it, with a job for `url`."""
    world.spiders = spiders
    now = datetime.now(UTC)
    with world.engine.begin() as conn:
        (target,) = watchlist_store.list_targets(conn, locator=url)
        run_id = run_store.start_run(
            conn, target_id=target.id, collector="page_watch", account=None, at=now
        )
    job = home.parent / "job.json"  # outside the folders the tests watch
    job.write_text(json.dumps(job_document(target, run_id, world.settings, {})))
    for folder in (home, home / "tmp", cwd):
        folder.mkdir(exist_ok=True)
    with job.open("rb") as stdin:
        return subprocess.Popen(
            [sys.executable, "-m", "spiders.runner"],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
            env=_clean_env(HOME=str(home), TMPDIR=str(home / "tmp")),
        )  # fmt: skip


def _end(child: subprocess.Popen[bytes], writers: list[int]) -> None:
    """After a failure: end the processes this test started, so none outlives it."""
    for pid in [child.pid, *writers]:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    child.wait()
    for pipe in (child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()


def test_a_spider_whose_parent_is_stuck_ends_itself_after_max_run_s(
    world_factory: Callable[[SiteModel], SpiderWorld], tmp_path: Path
) -> None:
    world, url = _slow_page_world(world_factory)
    # This test is the stuck parent: it never kills the child and reads nothing until it ends.
    child = _run_child(world, url, tmp_path / "home", tmp_path / "cwd", max_run_s=3, timeout_s=60)
    writers: list[int] = []
    try:
        writers.extend(_until(lambda: _children(child.pid), "ingest writer"))
        _until(lambda: child.poll() is not None, "end of the overdue spider")
        _until(lambda: not any(_alive(pid) for pid in writers), "end of its writer")
        _out, err = child.communicate()  # the writer, gone, holds no copy of the pipes
    finally:
        _end(child, writers)
        world.site.release_slow()
    assert child.returncode == EXIT_ENDED
    assert err.decode().strip().splitlines()[-1] == "spider ran longer than spiders.max_run_s (3 s)"
    assert world.scalar("SELECT count(*) FROM item") == 0


def test_a_spider_run_opens_no_listening_socket_and_writes_no_file(
    world_factory: Callable[[SiteModel], SpiderWorld], tmp_path: Path
) -> None:
    world, url = _slow_page_world(world_factory)
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    child = _run_child(world, url, home, cwd, timeout_s=60)
    writers: list[int] = []
    try:
        writers.extend(_until(lambda: _children(child.pid), "ingest writer"))
        # Held mid-crawl: the engine and its extensions are up, a page request is open.
        _until(lambda: world.site.requests_to("/slow"), "request for the slow page")
        during = {pid: _sockets(pid) for pid in (child.pid, *writers)}
        files_during = sorted(str(p) for p in (home, cwd) for p in p.rglob("*"))
        world.site.release_slow()
        out, err = child.communicate(timeout=BOUND_S)
    finally:
        _end(child, writers)
    # The open page request proves the socket survey sees the child's sockets at all.
    assert ("01", world.site.port) in during[child.pid], during
    assert [s for sockets in during.values() for s in sockets if s[0] == "0A"] == []
    assert files_during == [str(home / "tmp")]
    assert json.loads(out.decode().splitlines()[-1])["status"] == "ok", err.decode()[-2000:]
    assert sorted(p for p in (home, cwd) for p in p.rglob("*")) == [home / "tmp"]
    assert world.scalar("SELECT count(*) FROM item") == 1
