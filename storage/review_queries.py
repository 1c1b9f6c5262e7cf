"""What the review app reads: the queue (filtered, keyset-paged), and beside an alert its
source, its item's versions and media hashes, and the source's name history. Reads only;
collected values come back raw, for the caller to neutralize."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, tuple_

from storage.alert_store import QUEUE_ORDER, listing, record
from storage.item_queries import iso
from storage.models import Alert, ItemVersion, Media, Source, SourceSnapshot

_versions, _media, _snapshots = ItemVersion.__table__, Media.__table__, SourceSnapshot.__table__
_alerts, _sources = Alert.__table__, Source.__table__
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


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The review queue's filters; None leaves a field unfiltered. `source` is a username
    (without @, any case) or a platform id; `rule` and `bank` are the alert's own columns;
    `since` and `until` bound `first_seen` (when the alert was raised), `until` exclusive."""

    kind: str | None = None
    severity: str | None = None
    status: str | None = None
    assignee: str | None = None
    source: str | None = None
    rule: str | None = None
    bank: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def review_queue(
    conn: Connection, filters: QueueFilter, *, after: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """One page of the queue in `list_alerts` order (highest priority, then newest), each row
    with its source's title. `after` is the last alert id of the previous page (keyset paging:
    the page starts below that alert's place, so alerts raised meanwhile never shift it).

    The page's ids come first, from the alert table alone in queue order (an index walk:
    `ix_alert_queue`, or the one led by status, rule, bank or source), and only those rows are
    joined to their item and source: joining before the limit looked up an item and a source
    for every alert walked past, all of them when a filter matched few."""
    ids = select(_alerts.c.id).order_by(*QUEUE_ORDER).limit(limit)
    for column, value in (
        (_alerts.c.kind, filters.kind), (_alerts.c.severity, filters.severity),
        (_alerts.c.status, filters.status), (_alerts.c.assignee, filters.assignee),
        (_alerts.c.rule, filters.rule), (_alerts.c.bank, filters.bank),
    ):  # fmt: skip
        if value is not None:
            ids = ids.where(column == value)
    if filters.source is not None:
        name = filters.source.removeprefix("@")
        named = select(_sources.c.id).where(
            (func.lower(_sources.c.username) == name.lower()) | (_sources.c.platform_id == name)
        )
        ids = ids.where(_alerts.c.source_id.in_(named))
    if filters.since is not None:
        ids = ids.where(_alerts.c.first_seen >= filters.since)
    if filters.until is not None:
        ids = ids.where(_alerts.c.first_seen < filters.until)
    if after is not None:
        ids = ids.where(_after(after))
    page = ids.subquery("page")
    query = listing(_sources.c.title.label("source_title"), ids=page).order_by(*QUEUE_ORDER)
    return [{**record(row), "source_title": row.source_title} for row in conn.execute(query)]


def _after(alert_id: int) -> Any:
    """Rows after `alert_id` in queue order: one row-value comparison with its stored
    (priority, last_seen, id), which both databases turn into a range of the queue index (the
    same condition spelt as an OR of three cases is a filter over every row above the page)."""
    cursor = _alerts.alias("cursor")
    at = select(cursor.c.priority, cursor.c.last_seen).where(cursor.c.id == alert_id)
    return tuple_(_alerts.c.priority, _alerts.c.last_seen, _alerts.c.id) < tuple_(
        at.with_only_columns(cursor.c.priority).scalar_subquery(),
        at.with_only_columns(cursor.c.last_seen).scalar_subquery(),
        alert_id,
    )


def alert_source(conn: Connection, source_id: int) -> dict[str, Any] | None:
    """The alert's source as the review app shows it: platform, ids, username, title."""
    row = conn.execute(
        select(_sources.c.platform, _sources.c.platform_id, _sources.c.username,
               _sources.c.title).where(_sources.c.id == source_id)
    ).one_or_none()  # fmt: skip
    return None if row is None else dict(row._mapping)
