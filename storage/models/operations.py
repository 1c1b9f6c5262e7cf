"""Crawl runs, collection accounts, users and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, Json, UTCDateTime, utcnow


class CrawlRun(Base):
    __tablename__ = "crawl_run"
    __table_args__ = (Index("ix_crawl_run_target_started", "target_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("target.id", ondelete="SET NULL"))
    collector: Mapped[str] = mapped_column(String(32))
    account: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    observations: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)
    items_gone: Mapped[int] = mapped_column(Integer, default=0)
    media_hashed: Mapped[int] = mapped_column(Integer, default=0)


class TelegramAccount(Base):
    """A collection account as last seen by this database (its flood wait, its daily resolve
    budget). Its lease lives in `lease` (kind `telegram_key`), keyed by the auth key: see there."""

    __tablename__ = "telegram_account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    auth_key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    flood_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_day: Mapped[str | None] = mapped_column(String(10))
    resolves_today: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)


class TelegramPeer(Base):
    """Access hashes differ between accounts, so they are kept per (account, channel)."""

    __tablename__ = "telegram_peer"
    __table_args__ = (UniqueConstraint("account_id", "source_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("telegram_account.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    access_hash: Mapped[int] = mapped_column(BigInteger)
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lease(Base):
    """Who may do something that only one process may do at a time: use a Telegram auth key
    (kind `telegram_key`: two processes on one key get it revoked by Telegram) or run a target
    (kind `target`). The primary key makes taking a lease one atomic upsert on both databases;
    `until` bounds how long a holder that vanished (another host, lost) blocks the key."""

    __tablename__ = "lease"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    until: Mapped[datetime] = mapped_column(UTCDateTime)


class TelegramCursor(Base):
    """How far a channel's history is committed: `newest_id` moves up page by page, then
    `oldest_id` moves down until `history_complete` (the channel's first message was seen).
    Older history is only continued once `caught_up` (an upward sweep reached the newest
    message), so a first run cut short by a crash or a flood resumes exactly where it was."""

    __tablename__ = "telegram_cursor"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
    )
    newest_id: Mapped[int] = mapped_column(BigInteger, default=0)
    oldest_id: Mapped[int | None] = mapped_column(BigInteger)
    history_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    caught_up: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """Someone who works in the review app; `role` is one of crawler.access.Role."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    """argon2id, PHC string format: the password itself is never stored."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    show_critical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Show critical-severity text without asking first (the reviewer's own choice)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditLog(Base):
    """Append-only and hash-chained: row `seq` covers row `seq - 1` through `prev_hash`.

    `seq` is no sequence: the writer sets it under the chain's lock and the database's insert
    trigger refuses any row that does not extend the head (storage/audit_store.py says why).
    The unique `prev_hash` makes a fork impossible whatever a writer does."""

    __tablename__ = "audit_log"
    # A reviewer's own counts (critical texts read today) are an index range, not a scan.
    __table_args__ = (Index("ix_audit_log_actor_action_at", "actor", "action", "at"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    via: Mapped[str] = mapped_column(String(8))
    """cli | web"""
    os_user: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """A signed (length, head hash) of the audit chain: a chain rewritten from its first row
    on (hashes and all) no longer reaches a signed head. Append-only like the chain."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    """The first 16 hex digits of the SHA-256 of the raw Ed25519 public key."""
    signature: Mapped[str] = mapped_column(String(128))


class UserSession(Base):
    """A signed-in review-app session. The browser's cookie carries only a random id; this row
    is looked up by the id's SHA-256 on every request, so deleting it (logout) or disabling its
    user takes effect at the next request. The id itself is never stored."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    """One refused login, kept for throttling: counting them in the database makes the limit
    hold across every process serving the app. `name` is what was typed (bounded), known
    user or not."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_name_at", "name", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
