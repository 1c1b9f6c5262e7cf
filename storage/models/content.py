"""What was seen: sources (channels, sites), their history, items, versions, media and links.

Media rows hold metadata and hashes only; there is deliberately no column for bytes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, Json, UTCDateTime, utcnow


class Source(Base):
    """A channel or a site. A Telegram channel is its numeric id; usernames are aliases."""

    __tablename__ = "source"
    __table_args__ = (
        UniqueConstraint("platform", "platform_id"),
        Index("ix_source_platform_username", "platform", "username"),
        # Names are compared without case (a room's link, a reviewer's filter): migration 0012.
        Index("ix_source_username_lower", text("lower(username)")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    about: Mapped[str | None] = mapped_column(Text)
    participants: Mapped[int | None] = mapped_column(BigInteger)
    participants_raw: Mapped[str | None] = mapped_column(String(32))
    participants_exact: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[list[str]] = mapped_column(Json, default=list)
    linked_chat_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    unavailable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unavailable_reason: Mapped[str | None] = mapped_column(Text)
    previous_source_id: Mapped[int | None] = mapped_column(
        ForeignKey("source.id", ondelete="SET NULL")
    )


class SourceSnapshot(Base):
    """History of a source's names and descriptions: renames and takedowns matter."""

    __tablename__ = "source_snapshot"
    __table_args__ = (Index("ix_source_snapshot_username_lower", text("lower(username)")),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"), index=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    about: Mapped[str | None] = mapped_column(Text)
    change: Mapped[str] = mapped_column(String(32))


class Item(Base):
    """A post or a watched page, unique per (source, platform id)."""

    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("source_id", "platform_id"),
        Index("ix_item_source_message", "source_id", "message_id"),
        Index("ix_item_posted_at", "posted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    platform_id: Mapped[str] = mapped_column(String(2048))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    url: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    views: Mapped[int | None] = mapped_column(BigInteger)
    views_raw: Mapped[str | None] = mapped_column(String(32))
    views_exact: Mapped[bool] = mapped_column(Boolean, default=False)
    forwards: Mapped[int | None] = mapped_column(BigInteger)
    forwards_exact: Mapped[bool] = mapped_column(Boolean, default=False)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    reactions: Mapped[dict[str, int] | None] = mapped_column(Json)
    text: Mapped[str] = mapped_column(Text, default="")
    text_sha256: Mapped[str] = mapped_column(String(64))
    fwd_source_id: Mapped[str | None] = mapped_column(String(32))
    fwd_username: Mapped[str | None] = mapped_column(String(64))
    fwd_message_id: Mapped[int | None] = mapped_column(BigInteger)
    fwd_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fwd_name: Mapped[str | None] = mapped_column(Text)
    reply_to: Mapped[int | None] = mapped_column(BigInteger)
    grouped_id: Mapped[int | None] = mapped_column(BigInteger)
    is_service: Mapped[bool] = mapped_column(Boolean, default=False)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    version_count: Mapped[int] = mapped_column(Integer, default=1)
    collector: Mapped[str] = mapped_column(String(16))
    """The collector kind whose sighting created the item (and its version 1)."""
    sightings: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    """Collector kind → content hash it saw last. Versions compare within a kind, so the
    preview's rendering never counts as an edit of what the API saw."""


# The per-item child tables are keyed by (item, position) without a rowid: every post writes
# several of their rows, and a separate id index on each cost a fifth of ingest on SQLite.


class ItemVersion(Base):
    """One distinct content of an item that changed. The first sighting is version 1; it is
    kept in the item row until a second version appears, then written here too."""

    __tablename__ = "item_version"
    __table_args__ = ({"sqlite_with_rowid": False},)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("item.id", ondelete="CASCADE"), primary_key=True
    )
    version_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    collector: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    media_hashes: Mapped[list[str]] = mapped_column(Json, default=list)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Media(Base):
    __tablename__ = "media"
    __table_args__ = ({"sqlite_with_rowid": False},)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("item.id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    kind: Mapped[str] = mapped_column(String(32))
    mime: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    file_id: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    pdq: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    pdq_dihedral: Mapped[str | None] = mapped_column(String(448))
    """The PDQ of the picture rotated 90, 180, 270 degrees and flipped four ways, as 7 x 64 hex
    digits in that order: a bank entry hashed from a rotated or mirrored copy still matches."""
    hash_status: Mapped[str] = mapped_column(String(16))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Link(Base):
    """A link found in an item: the raw material for discovering new rooms."""

    __tablename__ = "link"
    __table_args__ = (Index("ix_link_kind_target", "kind", "target"), {"sqlite_with_rowid": False})

    item_id: Mapped[int] = mapped_column(
        ForeignKey("item.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str | None] = mapped_column(Text)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    """Where in the item the link first appeared, so links list in reading order."""


class SearchQueue(Base):
    """Items whose text changed after the SQLite search index covered them (see storage.search).

    New items need no entry: everything above the index's highest rowid is pending by definition.
    """

    __tablename__ = "search_queue"
    __table_args__ = ({"sqlite_with_rowid": False},)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("item.id", ondelete="CASCADE"), primary_key=True
    )
