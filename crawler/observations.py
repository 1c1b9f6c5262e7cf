"""Observations: what a collector saw, as plain frozen records.

Collectors translate the outside world into these records and nothing else; `crawler.ingest`
is the only consumer. They carry no database ids and no reference to Telethon or Scrapy, so
the API collector and the preview spider describe the same post the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Platform(StrEnum):
    TELEGRAM = "telegram"
    WEB = "web"


class CollectorKind(StrEnum):
    """Which kind of collector made a sighting; versions compare sightings of one kind only."""

    TELEGRAM_API = "telegram_api"
    TME_PREVIEW = "tme_preview"
    WEB_PAGE = "web_page"


class LinkKind(StrEnum):
    CHANNEL = "channel"
    INVITE = "invite"
    MENTION = "mention"
    HASHTAG = "hashtag"
    EXTERNAL = "external"


class HashStatus(StrEnum):
    HASHED = "hashed"
    TOO_LARGE = "too_large"
    POLICY_OFF = "policy_off"
    UNDECODABLE = "undecodable"
    ERROR = "error"
    NO_FILE = "no_file"
    """Nothing to fetch or hash: a poll (its words are the post's text), a dice roll."""
    NO_KEY = "no_key"
    """A contact or a place seen, but no `media.doxx_key` to hash its value with: kind only."""


@dataclass(frozen=True, slots=True)
class SourceKey:
    """Identifies a channel or a site.

    A Telegram channel is its numeric id (as a decimal string); the username is only an alias
    used when the id is not known (a preview page whose `data-view` did not decode). A web site
    is its host.
    """

    platform: Platform
    platform_id: str | None = None
    username: str | None = None

    def __post_init__(self) -> None:
        if self.platform_id is None and self.username is None:
            raise ValueError("a source needs a platform id or a username")


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    kind: LinkKind
    target: str | None = None
    """Channel username, invite hash, mention or hashtag text; None for external links."""


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """Metadata and hashes of one media file. The bytes themselves are never part of it.

    Contacts and places (kinds "contact", "location", "live_location", "venue") have no file:
    their `sha256` is HMAC-SHA256 under the installation's `media.doxx_key` of the normalized
    value (crawler.hashing.keyed.keyed_value_hash), so the same doxxed number or place matches
    across rooms while the value itself is never stored and cannot be guessed back without the
    key.
    """

    kind: str
    ordinal: int = 0
    mime: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    file_id: str | None = None
    sha256: str | None = None
    md5: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    pdq_dihedral: tuple[str, ...] = ()
    """PDQ of the image rotated by 90, 180 and 270 degrees and flipped four ways, so a bank
    entry hashed from a rotated or mirrored copy is found (empty when there is no PDQ)."""
    hash_status: HashStatus = HashStatus.POLICY_OFF


def join_pdq(hashes: tuple[str, ...]) -> str | None:
    """Several PDQ hashes as one stored string (``media.pdq_dihedral``); None for none."""
    return "".join(hashes) or None


def split_pdq(joined: str | None) -> tuple[str, ...]:
    """The hashes ``join_pdq`` stored."""
    joined = joined or ""
    return tuple(joined[i : i + 64] for i in range(0, len(joined), 64))


@dataclass(frozen=True, slots=True)
class ForwardRef:
    source_id: str | None = None
    username: str | None = None
    platform_id: int | None = None
    date: datetime | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Counter:
    """A counter as shown: exact from the API, rounded ("12.5K") on the preview."""

    value: int
    raw: str | None = None
    exact: bool = True


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    source: SourceKey
    observed_at: datetime
    username: str | None = None
    title: str | None = None
    about: str | None = None
    participants: Counter | None = None
    flags: frozenset[str] = frozenset()
    linked_chat_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceAvailability:
    """A channel or site became (un)reachable: takedowns are signals, not errors."""

    source: SourceKey
    observed_at: datetime
    available: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRecreated:
    """The name `source` is known by used to belong to `previous`: a room deleted (or taken
    down) and re-created under its old username, with a new platform id. The new source links
    to the old one; the old one's history stays as it was."""

    source: SourceKey
    previous: SourceKey
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class Post:
    source: SourceKey
    message_id: int
    collector: CollectorKind
    observed_at: datetime
    url: str | None = None
    posted_at: datetime | None = None
    edited_at: datetime | None = None
    edited: bool = False
    text: str = ""
    author: str | None = None
    views: Counter | None = None
    forwards: Counter | None = None
    replies: Counter | None = None
    reactions: tuple[tuple[str, int], ...] = ()
    fwd_from: ForwardRef | None = None
    reply_to: int | None = None
    grouped_id: int | None = None
    is_service: bool = False
    media: tuple[MediaHashes, ...] = ()
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class PageSnapshot:
    """One fetch of a watched web page; its normalized text decides whether it changed."""

    source: SourceKey
    url: str
    observed_at: datetime
    title: str | None = None
    text: str = ""
    etag: str | None = None
    last_modified: str | None = None
    media: tuple[MediaHashes, ...] = ()
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemGone:
    """The platform says this item no longer exists (an empty message on re-check)."""

    source: SourceKey
    platform_id: str
    observed_at: datetime


Observation = (
    ChannelSnapshot | SourceAvailability | SourceRecreated | Post | PageSnapshot | ItemGone
)
