"""The single entry for observations from every collector.

A batch is one transaction: sources are resolved, items upserted set-wise, versions added when a
collector kind sees different content than it saw last, deletions recorded, the crawl run's
counters advanced, and then matchers see what changed. Re-ingesting a batch changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from crawler.ingest_rows import (
    content_hash,
    item_row,
    media_key,
    media_row,
    sighting_hash,
    version_row,
)
from crawler.observations import (
    ChannelSnapshot,
    CollectorKind,
    HashStatus,
    ItemGone,
    Observation,
    PageSnapshot,
    Post,
    SourceAvailability,
    SourceKey,
    SourceRecreated,
)
from storage import content_writes as writes
from storage import source_writes

MAX_LINK_URL = 2048


@dataclass(frozen=True, slots=True)
class SourceChange:
    source_id: int
    change: str
    """first | username | title | about | unavailable | available | recreated (`before`: the
    id of the source that held the name)"""
    before: str | None = None
    after: str | None = None


@dataclass(slots=True)
class IngestResult:
    new_item_ids: list[int] = field(default_factory=list)
    changed_item_ids: list[int] = field(default_factory=list)
    gone: int = 0
    media_hashed: int = 0
    source_changes: list[SourceChange] = field(default_factory=list)
    source_ids: set[int] = field(default_factory=set)

    def counts(self, observations: int) -> dict[str, int]:
        return {
            "batches": 1,
            "observations": observations,
            "items_new": len(self.new_item_ids),
            "items_updated": len(self.changed_item_ids),
            "items_gone": self.gone,
            "media_hashed": self.media_hashed,
        }


class Matcher(Protocol):
    """Runs inside the batch's transaction after it is written; may add alerts."""

    def __call__(self, conn: Connection, result: IngestResult) -> None: ...


def ingest(
    engine: Engine,
    observations: Sequence[Observation],
    *,
    crawl_run_id: int | None = None,
    matchers: Sequence[Matcher] = (),
) -> IngestResult:
    """Write one batch of observations in one transaction and return what changed."""
    with engine.begin() as conn:
        result = ingest_batch(conn, observations, matchers=matchers)
        if crawl_run_id is not None:
            writes.add_run_counts(conn, crawl_run_id, result.counts(len(observations)))
    return result


def ingest_batch(
    conn: Connection, observations: Sequence[Observation], *, matchers: Sequence[Matcher] = ()
) -> IngestResult:
    result = IngestResult()
    sources = _SourceCache(conn)
    sightings: dict[tuple[int, CollectorKind], dict[str, Post | PageSnapshot]] = defaultdict(dict)
    gone: dict[int, list[ItemGone]] = defaultdict(list)
    for obs in observations:
        source_id = sources.id_for(obs.source, obs.observed_at)
        result.source_ids.add(source_id)
        if isinstance(obs, ChannelSnapshot):
            _apply_snapshot(conn, source_id, obs, result)
        elif isinstance(obs, SourceAvailability):
            _apply_availability(conn, source_id, obs, result)
        elif isinstance(obs, SourceRecreated):
            previous = sources.id_for(obs.previous, obs.observed_at)
            if source_writes.link_recreated(conn, source_id, previous, obs.observed_at):
                result.source_changes.append(SourceChange(source_id, "recreated", str(previous)))
        elif isinstance(obs, Post):
            sightings[source_id, obs.collector][str(obs.message_id)] = obs
        elif isinstance(obs, PageSnapshot):
            sightings[source_id, CollectorKind.WEB_PAGE][obs.url] = obs
        elif isinstance(obs, ItemGone):
            gone[source_id].append(obs)
    for (source_id, collector), by_id in sightings.items():
        _write_sightings(conn, source_id, collector, by_id, result)
    for source_id, gone_items in gone.items():
        at = max(obs.observed_at for obs in gone_items)
        platform_ids = [obs.platform_id for obs in gone_items]
        result.gone += writes.mark_items_gone(conn, source_id, platform_ids, at)
    for matcher in matchers:
        matcher(conn, result)
    return result


class _SourceCache:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._ids: dict[SourceKey, int] = {}

    def id_for(self, key: SourceKey, at: datetime) -> int:
        found = self._ids.get(key)
        if found is None:
            found = source_writes.find_or_create_source(
                self._conn, key.platform.value, key.platform_id, key.username, at
            )
            self._ids[key] = found
        return found


def _apply_snapshot(
    conn: Connection, source_id: int, snap: ChannelSnapshot, result: IngestResult
) -> None:
    current = source_writes.load_source(conn, source_id)
    first = current.title is None and current.about is None
    changes = [] if not first else [SourceChange(source_id, "first", None, snap.title)]
    if not first:
        for name in ("username", "title", "about"):
            before, after = getattr(current, name), getattr(snap, name)
            if after is not None and before != after:
                changes.append(SourceChange(source_id, name, before, after))
    if changes:
        source_writes.add_source_snapshot(
            conn,
            {
                "source_id": source_id,
                "observed_at": snap.observed_at,
                "username": snap.username or current.username,
                "title": snap.title if snap.title is not None else current.title,
                "about": snap.about if snap.about is not None else current.about,
                "change": ",".join(change.change for change in changes),
            },
        )
        result.source_changes.extend(changes)
    values: dict[str, Any] = {"last_seen_at": snap.observed_at}
    for name in ("username", "title", "about", "linked_chat_id", "created_at"):
        if getattr(snap, name) is not None:
            values[name] = getattr(snap, name)
    if snap.flags:
        values["flags"] = sorted(snap.flags)
    if snap.participants is not None:
        values.update(
            participants=snap.participants.value,
            participants_raw=snap.participants.raw,
            participants_exact=snap.participants.exact,
        )
    source_writes.update_source(conn, source_id, values)


def _apply_availability(
    conn: Connection, source_id: int, obs: SourceAvailability, result: IngestResult
) -> None:
    current = source_writes.load_source(conn, source_id)
    if current.available == obs.available:
        return
    change = "available" if obs.available else "unavailable"
    source_writes.update_source(
        conn,
        source_id,
        {
            "available": obs.available,
            "unavailable_since": None if obs.available else obs.observed_at,
            "unavailable_reason": None if obs.available else obs.reason,
        },
    )
    source_writes.add_source_snapshot(
        conn,
        {
            "source_id": source_id,
            "observed_at": obs.observed_at,
            "username": current.username,
            "title": current.title,
            "about": current.about,
            "change": change,
        },
    )
    result.source_changes.append(SourceChange(source_id, change, None, obs.reason))


def _write_sightings(
    conn: Connection,
    source_id: int,
    collector: CollectorKind,
    by_id: dict[str, Post | PageSnapshot],
    result: IngestResult,
) -> None:
    # Enum attribute access is slow in a per-row loop; StrEnum members are their values.
    kind = str(collector)
    rows, hashes = [], {}
    for platform_id, obs in by_id.items():
        row = item_row(source_id, platform_id, obs)
        hashes[platform_id] = sighting_hash(row["text_sha256"], obs.media)
        row["sightings"] = {kind: hashes[platform_id]}
        row["collector"] = kind
        rows.append(row)
    states = writes.upsert_items(conn, source_id, kind, rows)

    versions, sightings, new_content, media_new, media_fill, links = [], [], [], [], [], []
    first_versions: list[int] = []
    for row in rows:
        platform_id = row["platform_id"]
        obs, state, digest = by_id[platform_id], states[platform_id], hashes[platform_id]
        item_id = state.item_id
        if state.existed:
            if state.sighting_hash == digest:
                continue
            sightings.append((item_id, kind, digest))
        if not state.existed:
            # Version 1 lives in the item row itself until a second version appears: most
            # posts are never edited, and a copy of every text would double what ingest writes.
            result.new_item_ids.append(item_id)
            target = media_new
        elif state.sighting_hash is not None:
            version_no = state.version_count + 1
            if version_no == 2:
                first_versions.append(item_id)
            versions.append(version_row(item_id, version_no, kind, digest, row, obs))
            result.changed_item_ids.append(item_id)
            new_content.append(
                {
                    "b_id": item_id,
                    "b_text": row["text"],
                    "b_sha": row["text_sha256"],
                    "b_title": row["title"],
                    "b_versions": version_no,
                    "b_media": len(obs.media),
                }
            )
            target = media_new
        else:
            # A kind's first look at an item another kind already holds: its rendering must not
            # replace what is stored (the preview's recompressed images are not the API's).
            target = media_fill
        target.extend(media_row(item_id, m, obs.observed_at) for m in obs.media)
        links.extend(
            {
                "item_id": item_id,
                "url": link.url,
                "kind": str(link.kind),
                "target": link.target,
                "ordinal": ordinal,
            }
            for ordinal, link in enumerate(obs.links)
            if len(link.url) <= MAX_LINK_URL
        )
    # Before the item row takes the new content, its first version becomes a row of its own.
    writes.insert_versions(conn, _first_version_rows(conn, first_versions))
    writes.apply_new_content(conn, new_content)
    writes.drop_media_beyond(conn, [(row["b_id"], row["b_media"]) for row in new_content])
    writes.insert_versions(conn, versions)
    writes.record_sightings(conn, sightings)
    writes.upsert_media(conn, media_new, overwrite=True)
    writes.upsert_media(conn, media_fill, overwrite=False)
    writes.insert_links(conn, links)
    result.media_hashed += sum(
        1 for m in (*media_new, *media_fill) if m["hash_status"] == HashStatus.HASHED
    )


def _first_version_rows(conn: Connection, item_ids: list[int]) -> list[dict[str, Any]]:
    rows = []
    for item in writes.load_first_versions(conn, item_ids):
        keys = [media_key(m["sha256"], m["kind"], m["file_id"], m["ordinal"]) for m in item.media]
        rows.append(
            {
                "item_id": item.item_id,
                "version_no": 1,
                "collector": item.collector,
                "content_hash": item.sightings.get(item.collector)
                or content_hash(item.text_sha256, keys),
                "text": item.text,
                "text_sha256": item.text_sha256,
                "media_hashes": sorted(keys),
                "observed_at": item.collected_at,
                "edited_at": item.edited_at,
            }
        )
    return rows
