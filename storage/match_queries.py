"""What the matchers read about one ingest batch, each a single set-based query."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from storage.content_writes import chunks, dialect_insert
from storage.models import DiscoveryRef, Item, Link, Media, Source, SourceSnapshot, Target

_items, _sources, _media = Item.__table__, Source.__table__, Media.__table__
_links, _targets, _refs = Link.__table__, Target.__table__, DiscoveryRef.__table__
_snaps = SourceSnapshot.__table__
_CHANNEL_KINDS = ("telegram", "tme_preview")


@dataclass(frozen=True, slots=True)
class BatchItem:
    id: int
    source_id: int
    platform: str
    platform_id: str
    username: str | None
    source_platform_id: str | None
    text: str
    reach: int
    posted_at: datetime | None
    version_count: int
    fwd_username: str | None
    fwd_source_id: str | None


def reach(views: int | None, participants: int | None) -> int:
    """How many people an item may have reached: its views or its channel's members, whichever
    is larger (what an alert's priority weighs)."""
    return max(views or 0, participants or 0)


def batch_items(conn: Connection, item_ids: Sequence[int]) -> list[BatchItem]:
    found: list[BatchItem] = []
    for part in chunks(sorted(set(item_ids)), 500):
        query = (
            select(
                _items.c.id, _items.c.source_id, _sources.c.platform, _items.c.platform_id,
                _sources.c.username, _sources.c.platform_id.label("source_pid"), _items.c.text,
                _items.c.views, _sources.c.participants, _items.c.posted_at,
                _items.c.version_count, _items.c.fwd_username, _items.c.fwd_source_id,
            )
            .join(_sources, _sources.c.id == _items.c.source_id)
            .where(_items.c.id.in_(part))
        )  # fmt: skip
        for r in conn.execute(query):
            found.append(
                BatchItem(
                    r.id, r.source_id, r.platform, r.platform_id, r.username, r.source_pid,
                    r.text or "", reach(r.views, r.participants), r.posted_at,
                    r.version_count, r.fwd_username, r.fwd_source_id,
                )
            )  # fmt: skip
    return found


def batch_media(conn: Connection, item_ids: Sequence[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    columns = (_media.c.item_id, _media.c.ordinal, _media.c.sha256, _media.c.md5, _media.c.pdq,
               _media.c.pdq_quality, _media.c.pdq_dihedral)  # fmt: skip
    for part in chunks(sorted(set(item_ids)), 500):
        query = select(*columns).where(
            and_(
                _media.c.item_id.in_(part),
                or_(_media.c.sha256.is_not(None), _media.c.md5.is_not(None),
                    _media.c.pdq.is_not(None)),
            )
        )  # fmt: skip
        rows.extend(dict(r._mapping) for r in conn.execute(query))
    return rows


def batch_links(conn: Connection, item_ids: Sequence[int], kinds: Sequence[str]) -> list[Any]:
    rows: list[Any] = []
    for part in chunks(sorted(set(item_ids)), 500):
        query = select(_links.c.item_id, _links.c.kind, _links.c.target).where(
            and_(_links.c.item_id.in_(part), _links.c.kind.in_(kinds), _links.c.target.is_not(None))
        )
        rows.extend(conn.execute(query))
    return rows


def watched_sources(conn: Connection, source_ids: Collection[int]) -> set[int]:
    """Which of these sources a watchlist names: by the target's resolved source, by a username
    it holds or held, or as a web site (web sources exist only for watched pages)."""
    if not source_ids:
        return set()
    rows = conn.execute(
        select(_sources.c.id, _sources.c.platform, _sources.c.username).where(
            _sources.c.id.in_(list(source_ids))
        )
    ).all()
    watched = {r.id for r in rows if r.platform == "web"}
    # Usernames it holds or held: a watched room that renames itself stays watched.
    history = conn.execute(
        select(_snaps.c.source_id, _snaps.c.username)
        .where(_snaps.c.source_id.in_(list(source_ids)), _snaps.c.username.is_not(None))
        .distinct()
    ).all()
    by_locator: dict[str, set[int]] = {}
    for source_id, username in [(r.id, r.username) for r in rows if r.username] + history:
        by_locator.setdefault(f"@{username.lower()}", set()).add(source_id)
    targets = conn.execute(
        select(_targets.c.source_id, _targets.c.locator).where(
            or_(
                _targets.c.source_id.in_(list(source_ids)),
                and_(
                    _targets.c.kind.in_(_CHANNEL_KINDS),
                    _targets.c.locator.in_(list(by_locator) or [""]),
                ),
            )
        )
    ).all()
    for target in targets:
        if target.source_id in source_ids:
            watched.add(target.source_id)
        watched |= by_locator.get(target.locator, set())
    return watched


def watched_locators(conn: Connection, locators: Collection[str]) -> set[str]:
    """The given target locators that some watchlist holds (any kind, enabled or not)."""
    found: set[str] = set()
    for part in chunks(sorted(locators), 500):
        found.update(
            conn.execute(select(_targets.c.locator).where(_targets.c.locator.in_(part))).scalars()
        )
    return found


def watched_channel_ids(conn: Connection, platform_ids: Collection[str]) -> set[str]:
    """Telegram channel ids (decimal strings) among these whose source is on a watchlist."""
    if not platform_ids:
        return set()
    rows = conn.execute(
        select(_sources.c.id, _sources.c.platform_id).where(
            and_(_sources.c.platform == "telegram", _sources.c.platform_id.in_(list(platform_ids)))
        )
    ).all()
    watched = watched_sources(conn, {r.id for r in rows})
    return {r.platform_id for r in rows if r.id in watched}


def usernames_held_before(conn: Connection, source_ids: Collection[int]) -> dict[int, int]:
    """For each new source whose username another (older) source holds or held: that source."""
    if not source_ids:
        return {}
    news = conn.execute(
        select(_sources.c.id, _sources.c.username, _sources.c.previous_source_id).where(
            and_(_sources.c.id.in_(list(source_ids)), _sources.c.username.is_not(None))
        )
    ).all()
    found = {r.id: r.previous_source_id for r in news if r.previous_source_id is not None}
    names = {r.username.lower(): r.id for r in news if r.id not in found}
    if names:
        holders = (
            select(_sources.c.id, _sources.c.username)
            .where(func.lower(_sources.c.username).in_(list(names)))
            .union(
                select(_snaps.c.source_id, _snaps.c.username).where(
                    func.lower(_snaps.c.username).in_(list(names))
                )
            )
        )
        for holder_id, username in conn.execute(holders):
            new_id = names[username.lower()]
            if holder_id != new_id and holder_id < new_id:
                found.setdefault(new_id, holder_id)
    return found


def add_discovery_refs(conn: Connection, refs: Sequence[dict[str, Any]]) -> None:
    if refs:
        # executemany: one compiled statement, not a multi-row VALUES compiled per batch.
        stmt = dialect_insert(conn, _refs).on_conflict_do_nothing(
            index_elements=["channel", "item_id"]
        )
        conn.execute(stmt, list(refs))


def discovery_counts(conn: Connection, channels: Collection[str]) -> dict[str, dict[str, int]]:
    """Per channel: distinct referencing items per way of reference."""
    counts: dict[str, dict[str, int]] = {}
    for part in chunks(sorted(channels), 500):
        query = (
            select(_refs.c.channel, _refs.c.via, func.count())
            .where(_refs.c.channel.in_(part))
            .group_by(_refs.c.channel, _refs.c.via)
        )
        for channel, via, count in conn.execute(query):
            counts.setdefault(channel, {})[via] = int(count)
    return counts


def hourly_counts(
    conn: Connection, source_id: int, end: datetime, recent_s: float, baseline_s: float
) -> tuple[int, int, datetime | None]:
    """(posts in the last `recent_s` before `end`, posts in the `baseline_s` before that,
    the source's earliest post time)."""
    recent_start = end - timedelta(seconds=recent_s)
    base_start = recent_start - timedelta(seconds=baseline_s)
    posted = _items.c.posted_at
    row = conn.execute(
        select(
            func.count().filter(and_(posted > recent_start, posted <= end)),
            func.count().filter(and_(posted > base_start, posted <= recent_start)),
            func.min(posted),
        ).where(_items.c.source_id == source_id)
    ).one()
    earliest = row[2]
    if isinstance(earliest, str):  # SQLite's min() loses the column type
        earliest = datetime.fromisoformat(earliest)
    if earliest is not None and earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    return int(row[0]), int(row[1]), earliest


def opted_in_pages(conn: Connection, urls: Collection[str]) -> set[str]:
    """Watched pages (web_page targets) among these URLs whose target opts in to page_change."""
    found: set[str] = set()
    for part in chunks(sorted(urls), 500):
        rows = conn.execute(
            select(_targets.c.locator, _targets.c.options).where(
                and_(_targets.c.kind == "web_page", _targets.c.locator.in_(part))
            )
        )
        found.update(r.locator for r in rows if (r.options or {}).get("alert_on_change"))
    return found


def enabled_targets(conn: Connection, kinds: Sequence[str]) -> list[Any]:
    query = select(_targets).where(_targets.c.enabled.is_(True), _targets.c.kind.in_(kinds))
    return list(conn.execute(query))
