"""Writes about sources (channels, sites): found or created by identity, their names and
availability as collectors last saw them, and their history of changes. Called by ingest only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from storage.content_writes import dialect_insert
from storage.models import Source, SourceSnapshot
from storage.turns import name_key, take_turn

_sources = Source.__table__


@dataclass(frozen=True, slots=True)
class SourceRecord:
    id: int
    username: str | None
    title: str | None
    about: str | None
    available: bool


def find_or_create_source(
    conn: Connection, platform: str, platform_id: str | None, username: str | None, at: datetime
) -> int:
    """The source for a key: by platform id when known, else by its most recent username.

    A source first known only by username (a preview without a channel id) is adopted when its
    id turns up, so the API collector and the preview land on the same row.
    """
    table = Source.__table__
    if platform_id is not None:
        found = conn.execute(
            select(table.c.id).where(
                table.c.platform == platform, table.c.platform_id == platform_id
            )
        ).scalar()
        if found is not None:
            return found
        if username is not None:
            orphan = conn.execute(
                select(table.c.id).where(
                    table.c.platform == platform,
                    table.c.username == username,
                    table.c.platform_id.is_(None),
                )
            ).scalar()
            if orphan is not None:
                conn.execute(
                    update(table).where(table.c.id == orphan).values(platform_id=platform_id)
                )
                return orphan
        values = {"platform": platform, "platform_id": platform_id, "username": username}
        stmt = dialect_insert(conn, table).values(**values, first_seen_at=at, last_seen_at=at)
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["platform", "platform_id"]))
        return conn.execute(
            select(table.c.id).where(
                table.c.platform == platform, table.c.platform_id == platform_id
            )
        ).scalar_one()
    found = _latest_by_username(conn, platform, username)
    if found is not None:
        return found
    # No key to conflict on: two processes seeing the name first at once would both insert.
    # The second waits here until the first commits, then finds its row.
    take_turn(conn, name_key(f"source:{platform}:{username}"))
    found = _latest_by_username(conn, platform, username)
    if found is not None:
        return found
    stmt = table.insert().values(
        platform=platform, username=username, first_seen_at=at, last_seen_at=at
    )
    return conn.execute(stmt.returning(table.c.id)).scalar_one()


def _latest_by_username(conn: Connection, platform: str, username: str | None) -> int | None:
    return conn.execute(
        select(_sources.c.id)
        .where(_sources.c.platform == platform, _sources.c.username == username)
        .order_by(_sources.c.last_seen_at.desc(), _sources.c.id.desc())
        .limit(1)
    ).scalar()


def load_source(conn: Connection, source_id: int) -> SourceRecord:
    table = Source.__table__
    row = conn.execute(
        select(table.c.id, table.c.username, table.c.title, table.c.about, table.c.available).where(
            table.c.id == source_id
        )
    ).one()
    return SourceRecord(*row)


def update_source(conn: Connection, source_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(Source.__table__).where(Source.id == source_id).values(**values))


def link_recreated(conn: Connection, new_source_id: int, old_source_id: int, at: datetime) -> bool:
    """Point a re-created room's source at the one that held its name before, with a
    `recreated` row in its history; False when it already pointed there (a re-run)."""
    linked = conn.execute(
        update(_sources)
        .where(
            _sources.c.id == new_source_id,
            or_(
                _sources.c.previous_source_id.is_(None),
                _sources.c.previous_source_id != old_source_id,
            ),
        )
        .values(previous_source_id=old_source_id)
    )
    if linked.rowcount != 1:
        return False
    new = conn.execute(
        select(_sources.c.username, _sources.c.title, _sources.c.about).where(
            _sources.c.id == new_source_id
        )
    ).one()
    add_source_snapshot(
        conn,
        {"source_id": new_source_id, "observed_at": at, "username": new.username,
         "title": new.title, "about": new.about, "change": "recreated"},
    )  # fmt: skip
    return True


def add_source_snapshot(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(SourceSnapshot.__table__.insert().values(**row))
