"""Investigator queries over collected items, returned in the documented JSON contract."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from storage.models import Item, Link, Media, Source
from storage.search import text_condition

_items, _sources = Item.__table__, Source.__table__
_media, _links = Media.__table__, Link.__table__


_MEDIA_FIELDS = (
    "kind", "mime", "size", "width", "height", "duration", "sha256", "md5", "pdq",
    "pdq_quality", "hash_status",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ItemFilter:
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    hash: str | None = None
    limit: int = 100


def source_name(platform: str, platform_id: str | None, username: str | None) -> str:
    """How a source is shown everywhere: `@username`, the site's host, else its id."""
    if platform == "telegram":
        return f"@{username}" if username else f"telegram:{platform_id}"
    return platform_id or "?"


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def find_items(conn: Connection, filters: ItemFilter) -> list[dict[str, Any]]:
    """Items matching every given filter, newest first by posted time."""
    source_columns = (
        _sources.c.platform,
        _sources.c.platform_id.label("source_pid"),
        _sources.c.username,
    )
    query = select(_items, *source_columns).join(_sources, _sources.c.id == _items.c.source_id)
    if filters.source:
        name = filters.source.strip().lower().removeprefix("@")
        query = query.where(
            or_(
                func.lower(_sources.c.username) == name,
                func.lower(_sources.c.platform_id) == name,
            )
        )
    if filters.since is not None:
        query = query.where(_items.c.posted_at >= filters.since)
    if filters.until is not None:
        query = query.where(_items.c.posted_at < filters.until)
    if filters.text:
        query = query.where(text_condition(conn.dialect.name, filters.text))
    if filters.hash:
        digest = filters.hash.strip().lower()
        media_hit = select(_media.c.item_id).where(
            or_(_media.c.sha256 == digest, _media.c.md5 == digest, _media.c.pdq == digest)
        )
        query = query.where(_items.c.id.in_(media_hit))
    query = query.order_by(_items.c.posted_at.desc().nulls_last(), _items.c.id.desc())
    rows = conn.execute(query.limit(filters.limit)).mappings().all()
    ids = [row["id"] for row in rows]
    media, links = _media_of(conn, ids), _links_of(conn, ids)
    return [_record(row, media[row["id"]], links[row["id"]]) for row in rows]


def _media_of(conn: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        query = select(_media).where(_media.c.item_id.in_(ids)).order_by(_media.c.ordinal)
        for m in conn.execute(query).mappings():
            found[m["item_id"]].append({key: m[key] for key in _MEDIA_FIELDS})
    return found


def _links_of(conn: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        query = (
            select(_links)
            .where(_links.c.item_id.in_(ids))
            .order_by(_links.c.item_id, _links.c.ordinal)
        )
        for link in conn.execute(query).mappings():
            found[link["item_id"]].append(
                {"url": link["url"], "kind": link["kind"], "target": link["target"]}
            )
    return found


def _record(row: Any, media: list[dict[str, Any]], links: list[dict[str, Any]]) -> dict[str, Any]:
    fwd_from = None
    if row["fwd_source_id"] or row["fwd_username"] or row["fwd_name"]:
        fwd_from = {
            "source": f"@{row['fwd_username']}" if row["fwd_username"] else None,
            "source_id": row["fwd_source_id"],
            "platform_id": row["fwd_message_id"],
            "date": iso(row["fwd_date"]),
            "name": row["fwd_name"],
        }
    return {
        "id": row["id"],
        "source": source_name(row["platform"], row["source_pid"], row["username"]),
        "source_id": row["source_pid"],
        "platform_id": row["message_id"] if row["message_id"] is not None else row["platform_id"],
        "url": row["url"],
        "posted_at": iso(row["posted_at"]),
        "collected_at": iso(row["collected_at"]),
        "edited_at": iso(row["edited_at"]),
        "deleted_at": iso(row["deleted_at"]),
        "edited": bool(row["edited"]),
        "views": row["views"],
        "views_raw": row["views_raw"],
        "forwards": row["forwards"],
        "replies": row["replies"],
        "reactions": row["reactions"],
        "title": row["title"],
        "text": row["text"],
        "text_sha256": row["text_sha256"],
        "versions": row["version_count"],
        "fwd_from": fwd_from,
        "reply_to": row["reply_to"],
        "grouped_id": row["grouped_id"],
        "is_service": bool(row["is_service"]),
        "media": media,
        "links": links,
    }
