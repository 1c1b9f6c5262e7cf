"""What the review app shows beside an alert: its item's versions and media hashes, and its
source's name history. Reads only; collected values come back raw, for the caller to
neutralize."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from storage.item_queries import iso
from storage.models import ItemVersion, Media, SourceSnapshot

_versions, _media, _snapshots = ItemVersion.__table__, Media.__table__, SourceSnapshot.__table__
MAX_ROWS = 100
"""A page shows the newest hundred; a room renamed more often than that is told by the CLI."""


def item_versions(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    """The item's stored versions, oldest first (none until its content first changed)."""
    rows = conn.execute(
        select(_versions.c.version_no, _versions.c.collector, _versions.c.text,
               _versions.c.observed_at, _versions.c.edited_at)
        .where(_versions.c.item_id == item_id)
        .order_by(_versions.c.version_no.desc())
        .limit(MAX_ROWS)
    ).mappings()  # fmt: skip
    return [
        {**row, "observed_at": iso(row["observed_at"]), "edited_at": iso(row["edited_at"])}
        for row in reversed(list(rows))
    ]


def item_media(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    """The item's media as recorded: kind and hashes, never bytes (there are none)."""
    columns = [c for c in _media.c if c.name in _MEDIA_FIELDS]
    rows = conn.execute(
        select(*columns).where(_media.c.item_id == item_id).order_by(_media.c.ordinal)
    ).mappings()
    return [dict(row) for row in rows]


_MEDIA_FIELDS = ("ordinal", "kind", "mime", "size", "sha256", "md5", "pdq", "pdq_quality")


def source_history(conn: Connection, source_id: int) -> list[dict[str, Any]]:
    """The source's observed names and titles, newest first."""
    rows = conn.execute(
        select(_snapshots.c.observed_at, _snapshots.c.change, _snapshots.c.username,
               _snapshots.c.title)
        .where(_snapshots.c.source_id == source_id)
        .order_by(_snapshots.c.observed_at.desc(), _snapshots.c.id.desc())
        .limit(MAX_ROWS)
    ).mappings()  # fmt: skip
    return [{**row, "observed_at": iso(row["observed_at"])} for row in rows]
