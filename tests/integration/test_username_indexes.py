"""Names are compared without case, and looked up by index (migration 0012): the re-created
room check runs on every ingest batch that brings a new source, and read both tables whole
without it. Checked on the statements the check really sends, on both databases (PostgreSQL
with sequential scans priced out, so the plan shows whether the index can serve at all)."""

from __future__ import annotations

from sqlalchemy import Engine

from storage.match_queries import usernames_held_before
from storage.source_writes import add_source_snapshot, find_or_create_source
from tests.factories import T0
from tests.integration.query_plans import plan, statements_sent


def test_a_new_sources_name_is_looked_up_by_index_in_sources_and_their_history(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        old = find_or_create_source(conn, "telegram", "100", "Room_Old", T0)
        add_source_snapshot(conn, {"source_id": old, "observed_at": T0, "username": "room_new",
                                   "title": None, "about": None, "change": "username"})  # fmt: skip
        new = find_or_create_source(conn, "telegram", "200", "ROOM_NEW", T0)
    with statements_sent(engine) as sent, engine.connect() as conn:
        held = usernames_held_before(conn, [new])

    assert held == {new: old}  # found through the history, whatever the case
    [(statement, params)] = [s for s in sent if "source_snapshot" in s[0]]
    found = plan(engine, statement, params)
    assert "ix_source_username_lower" in found, found
    assert "ix_source_snapshot_username_lower" in found, found

