"""Two processes that first see a channel known only by its username at the same moment (a
t.me/s preview of @room and a mention of @room, say) must get one source, not two: the second
waits until the first commits and then finds its row. On both databases; the second writer's
wait is observed (SQLite's statement trace, PostgreSQL's lock view), never slept on."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from storage.models import Source
from storage.source_writes import find_or_create_source
from tests.factories import T0

DEADLINE_S = 30.0


def test_two_first_sightings_of_one_username_at_once_make_one_source(engine: Engine) -> None:
    second: dict[str, Any] = {}
    writing = threading.Event()

    def second_sighting() -> None:
        try:
            with engine.begin() as conn:
                _tell_when_writing(conn, writing)
                second["id"] = find_or_create_source(conn, "telegram", None, "room", T0)
        except BaseException as exc:  # re-raised by the test's thread
            second["error"] = exc
        finally:
            writing.set()

    with engine.connect() as first:
        with first.begin():
            first_id = find_or_create_source(first, "telegram", None, "room", T0)
            thread = threading.Thread(target=second_sighting)
            thread.start()
            _await_second_writer(engine, writing, thread)
        thread.join(DEADLINE_S)

    assert "error" not in second, second.get("error")
    assert second["id"] == first_id
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(Source).where(Source.username == "room")
        ).scalar_one()
    assert count == 1


def _tell_when_writing(conn: Connection, writing: threading.Event) -> None:
    """On SQLite, set `writing` as the connection starts its first write (which then waits
    for the first transaction's lock): by then every read before it has been answered."""
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None

    def trace(statement: str) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raw.set_trace_callback(None)
            writing.set()

    raw.set_trace_callback(trace)


def _await_second_writer(
    engine: Engine, writing: threading.Event, thread: threading.Thread
) -> None:
    """Until the second sighting waits for the first (or has finished without waiting)."""
    if engine.dialect.name == "sqlite":
        assert writing.wait(DEADLINE_S), "the second sighting never wrote"
        return
    deadline = time.monotonic() + DEADLINE_S
    with engine.connect() as watcher:
        while thread.is_alive():
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            assert time.monotonic() < deadline, "the second sighting neither waited nor ended"
            watcher.rollback()  # a fresh snapshot of pg_stat_activity for the next look
            time.sleep(0.01)
