"""Rows that ingest writes, built from observations: one place decides what a version is."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from crawler.observations import MediaHashes, PageSnapshot, Post, join_pdq
from crawler.text import nfc, text_sha256


def media_key(sha256: str | None, kind: str, file_id: str | None, ordinal: int) -> str:
    """What identifies a media file in a version: its hash, else what the platform calls it."""
    return sha256 or f"{kind}:{file_id or ordinal}"


def _media_keys(media: Iterable[MediaHashes]) -> list[str]:
    return sorted(media_key(m.sha256, m.kind, m.file_id, m.ordinal) for m in media)


def content_hash(text_hash: str, media_keys: Iterable[str]) -> str:
    """Version key of a sighting: normalized text plus the set of media hashes."""
    keys = ",".join(sorted(media_keys))
    return hashlib.sha256(f"{text_hash}|{keys}".encode()).hexdigest()


def sighting_hash(text_hash: str, media: Iterable[MediaHashes]) -> str:
    return content_hash(text_hash, _media_keys(media))


def item_row(source_id: int, platform_id: str, obs: Post | PageSnapshot) -> dict[str, Any]:
    text = nfc(obs.text)
    row: dict[str, Any] = {
        "source_id": source_id,
        "platform_id": platform_id,
        "collected_at": obs.observed_at,
        "last_seen_at": obs.observed_at,
        "text": text,
        "text_sha256": text_sha256(text),
        "version_count": 1,
        "message_id": None, "url": None, "posted_at": None, "edited_at": None,
        "edited": False, "author": None, "title": None,
        "views": None, "views_raw": None, "views_exact": False,
        "forwards": None, "forwards_exact": False, "replies": None, "reactions": None,
        "fwd_source_id": None, "fwd_username": None, "fwd_message_id": None,
        "fwd_date": None, "fwd_name": None, "reply_to": None, "grouped_id": None,
        "is_service": False, "etag": None, "last_modified": None,
    }  # fmt: skip
    if isinstance(obs, PageSnapshot):
        row.update(url=obs.url, title=obs.title, etag=obs.etag, last_modified=obs.last_modified)
        return row
    row.update(
        message_id=obs.message_id,
        url=obs.url,
        posted_at=obs.posted_at,
        edited_at=obs.edited_at,
        edited=obs.edited or obs.edited_at is not None,
        author=obs.author,
        replies=obs.replies.value if obs.replies else None,
        reactions=dict(obs.reactions) if obs.reactions else None,
        reply_to=obs.reply_to,
        grouped_id=obs.grouped_id,
        is_service=obs.is_service,
    )
    if obs.views is not None:
        row.update(views=obs.views.value, views_raw=obs.views.raw, views_exact=obs.views.exact)
    if obs.forwards is not None:
        row.update(forwards=obs.forwards.value, forwards_exact=obs.forwards.exact)
    if obs.fwd_from is not None:
        fwd = obs.fwd_from
        row.update(
            fwd_source_id=fwd.source_id,
            fwd_username=fwd.username,
            fwd_message_id=fwd.platform_id,
            fwd_date=fwd.date,
            fwd_name=fwd.name,
        )
    return row


def version_row(
    item_id: int,
    version_no: int,
    collector: str,
    digest: str,
    row: dict[str, Any],
    obs: Post | PageSnapshot,
) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "version_no": version_no,
        "collector": collector,
        "content_hash": digest,
        "text": row["text"],
        "text_sha256": row["text_sha256"],
        "media_hashes": _media_keys(obs.media),
        "observed_at": obs.observed_at,
        "edited_at": obs.edited_at if isinstance(obs, Post) else None,
    }


def media_row(item_id: int, media: MediaHashes, observed_at: datetime) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "ordinal": media.ordinal,
        "kind": media.kind,
        "mime": media.mime,
        "size": media.size,
        "width": media.width,
        "height": media.height,
        "duration": media.duration,
        "file_id": media.file_id,
        "sha256": media.sha256,
        "md5": media.md5,
        "pdq": media.pdq,
        "pdq_quality": media.pdq_quality,
        "pdq_dihedral": join_pdq(media.pdq_dihedral),
        "hash_status": media.hash_status.value,
        "observed_at": observed_at,
    }
