"""Several processes writing the same rows at once, on SQLite and PostgreSQL.

Each worker is a thread with an engine of its own, so it holds its own database connection
exactly as a separate `chanwatch` process would; the database sees separate sessions.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text

from crawler.ingest import IngestResult, ingest
from crawler.observations import ChannelSnapshot
from storage import run_store, spider_store
from storage.engine import make_engine
from storage.search import catch_up
from tests.factories import CHANNEL, T0, post

WORKERS = [2, 4]
BOUND_S = 60.0
"""The longest any worker may take; the tests never get near it unless something hangs."""


class Workers:
    """Threads that each open their own engine on `db_url`; failures are kept, not lost."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.errors: list[BaseException] = []
        self.engines: list[Engine] = []
        self._threads: list[threading.Thread] = []

    def engine(self) -> Engine:
        engine = make_engine(self.db_url)
        self.engines.append(engine)
        return engine

    def start(self, work: Callable[[], None], barrier: threading.Barrier | None = None) -> None:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # reported by join()
                self.errors.append(exc)
                if barrier is not None:
                    barrier.abort()  # the others stop waiting for this one

        thread = threading.Thread(target=run)
        self._threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(BOUND_S)
        assert not any(thread.is_alive() for thread in self._threads), "a worker hung"
        assert self.errors == [], self.errors

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


@pytest.fixture
def workers(db_url: str) -> Iterator[Workers]:
    found = Workers(db_url)
    yield found
    found.dispose()


# -- run counters ------------------------------------------------------------------------------


def _on_first_write(engine: Engine, seen: threading.Event) -> None:
    """Set `seen` when a connection of `engine` starts a writing statement (SQLite): from there
    it waits for the write lock, and whatever it read before was read before that lock."""

    def trace(statement: str) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen.set()

    def on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(trace)

    event.listen(engine, "connect", on_connect)


def _wait_for_lock_waiters(conn: Connection, count: int) -> None:
    """Until `count` other sessions of this database wait on a lock (PostgreSQL). Another
    session's waiting has no event this one could await, so this polls, within a bound."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + BOUND_S
    # Activity is read once per transaction unless the snapshot is cleared.
    while conn.execute(text("SELECT pg_stat_clear_snapshot()")) and (
        conn.execute(query).scalar_one() < count
    ):
        assert time.monotonic() < deadline, "the other ingests never reached the item rows"
        time.sleep(0.05)


@pytest.mark.parametrize("writers", WORKERS)
def test_concurrent_ingests_of_the_same_posts_count_each_new_item_once(
    engine: Engine, workers: Workers, writers: int
) -> None:
    # The source exists already: creating it is not the race this test is about.
    ingest(engine, [ChannelSnapshot(CHANNEL, T0, username="example_news", title="News")])
    posts = [post(n, f"post {n}") for n in range(1, 1001)]
    with engine.begin() as conn:
        run_ids = [
            run_store.start_run(conn, target_id=None, collector="telegram", account=None, at=T0)
            for _ in range(writers)
        ]
    holding = threading.Event()
    others_writing = [threading.Event() for _ in range(writers - 1)]

    def hold_until_the_others_wait(conn: Connection, _result: IngestResult) -> None:
        # The first run's transaction has written every item and is not committed yet: the
        # others run into it now, in the order a real race would take.
        holding.set()
        if conn.dialect.name == "postgresql":
            _wait_for_lock_waiters(conn, writers - 1)
        else:
            assert all(seen.wait(BOUND_S) for seen in others_writing)

    def first() -> None:
        ingest(
            workers.engine(), posts, crawl_run_id=run_ids[0], matchers=[hold_until_the_others_wait]
        )

    workers.start(first)
    assert holding.wait(BOUND_S)
    for run_id, seen in zip(run_ids[1:], others_writing, strict=True):
        other = workers.engine()
        if other.dialect.name == "sqlite":
            _on_first_write(other, seen)
        workers.start(lambda other=other, run_id=run_id: ingest(other, posts, crawl_run_id=run_id))
    workers.join()

    with engine.connect() as conn:
        counted = conn.execute(
            text("SELECT id, items_new, items_updated FROM crawl_run ORDER BY id")
        ).all()
        items = conn.execute(text("SELECT count(*) FROM item")).scalar_one()
    assert items == 1000
    assert [(row.items_new, row.items_updated) for row in counted] == [(1000, 0)] + [(0, 0)] * (
        writers - 1
    )


# -- search index ------------------------------------------------------------------------------


@pytest.mark.parametrize("indexers", WORKERS)
def test_concurrent_index_catch_ups_index_every_item_once(
    engine: Engine, workers: Workers, indexers: int
) -> None:
    ingest(engine, [post(n, f"indexed {n}") for n in range(1, 601)])
    assert catch_up(engine) == 600
    # Pending work of both kinds: edits of indexed items (queued) and items never indexed.
    ingest(engine, [post(n, f"edited {n}") for n in range(1, 51)])
    ingest(engine, [post(n, f"new {n}") for n in range(601, 2001)])
    start = threading.Barrier(indexers)
    indexed: list[int] = []

    def index() -> None:
        mine = workers.engine()
        start.wait(BOUND_S)
        # Small batches: many transactions per indexer, so they overlap many times over.
        indexed.append(catch_up(mine, batch=50))

    for _ in range(indexers):
        workers.start(index, start)
    workers.join()

    assert sum(indexed) == 50 + 1400  # each pending item indexed by exactly one indexer
    with engine.connect() as conn:
        index_rows = conn.execute(text("SELECT rowid, text FROM item_fts")).all()
        texts = dict(conn.execute(text("SELECT id, text FROM item")).all())
        queued = conn.execute(text("SELECT count(*) FROM search_queue")).scalar_one()
    assert len(index_rows) == len(texts) == 2000
    assert dict(index_rows) == texts  # no duplicate, none missing, edits as edited
    assert queued == 0


# -- spider state ------------------------------------------------------------------------------


@pytest.mark.parametrize("writers", WORKERS)
def test_concurrent_spider_state_saves_of_one_key_never_fail(
    engine: Engine, workers: Workers, writers: int
) -> None:
    rounds, keys = 30, 5  # each key is first absent (insert race), then present (replace race)
    start = threading.Barrier(writers)

    def save_all(writer: int) -> None:
        mine = workers.engine()
        for round_no in range(rounds):
            start.wait(BOUND_S)
            with mine.begin() as conn:
                state: dict[str, Any] = {"round": round_no, "writer": writer}
                spider_store.save(conn, f"robots:{round_no % keys}", state, datetime.now(UTC))

    for writer in range(writers):
        workers.start(lambda writer=writer: save_all(writer), start)
    workers.join()

    with engine.connect() as conn:
        stored = {key: spider_store.load(conn, key) for key in (f"robots:{n}" for n in range(5))}
    for n, found in enumerate(stored.values()):
        assert found is not None
        state, _at = found
        assert state["round"] == max(r for r in range(rounds) if r % keys == n)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM spider_state")).scalar_one() == keys
