"""Hash banks, keyword rules, alerts and the append-only alert history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


class HashBank(Base):
    __tablename__ = "hash_bank"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    negative: Mapped[bool] = mapped_column(Boolean, default=False)
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=31)
    severity: Mapped[str] = mapped_column(String(16), default="high")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankEntry(Base):
    __tablename__ = "bank_entry"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "value"),
        Index("ix_bank_entry_signal", "signal_type", "value"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("hash_bank.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    """active | withdrawn (withdrawn or deleted at the exchange: kept on record, never matched)"""
    revision: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    """The `matching_version` of "banks" at this row's last change: running matchers reload only
    rows past the revision they hold, so an import never costs a full index rebuild."""
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rule(Base):
    __tablename__ = "rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    terms: Mapped[list[str]] = mapped_column(Json, default=list)
    regexes: Mapped[list[str]] = mapped_column(Json, default=list)
    allowlist: Mapped[list[str]] = mapped_column(Json, default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    slip: Mapped[bool] = mapped_column(Boolean, default=False)
    """Also match one-jamo slips of long terms (opt-in; reported one severity lower)."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_QUEUE_ORDER = (text("priority DESC"), text("last_seen DESC"), text("id DESC"))


def _present(column: str) -> dict[str, Any]:
    """A partial index's condition on both databases: rows where `column` is set."""
    condition = text(f"{column} IS NOT NULL")
    return {"postgresql_where": condition, "sqlite_where": condition}


class Alert(Base):
    __tablename__ = "alert"
    # The review queue's order, alone and after each filter a reviewer narrows by: a page is an
    # index walk at any size (migration 0011). An alert has a rule or a bank, seldom both: those
    # two hold only the alerts that have one, so a write skips the other (migration 0013).
    __table_args__ = (
        Index("ix_alert_queue", *_QUEUE_ORDER),
        Index("ix_alert_status_queue", "status", *_QUEUE_ORDER),
        Index("ix_alert_rule_queue", "rule", *_QUEUE_ORDER, **_present("rule")),
        Index("ix_alert_bank_queue", "bank", *_QUEUE_ORDER, **_present("bank")),
        Index("ix_alert_source_queue", "source_id", *_QUEUE_ORDER),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(16))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="new")
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("item.id", ondelete="SET NULL"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    evidence: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    rule: Mapped[str | None] = mapped_column(String(100))
    """The keyword rule that raised it (also in the evidence): a column so the queue can filter."""
    bank: Mapped[str | None] = mapped_column(String(100))
    """The hash bank that raised it (also in the evidence)."""
    hit_count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assignee: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertEvent(Base):
    """Append-only: every change to an alert is a new row; the database refuses UPDATE and
    DELETE here."""

    __tablename__ = "alert_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No ON DELETE CASCADE: deleting an alert must not take its history (evidence) with it.
    # Alerts are never deleted, and the database refuses to delete events (migration 0008).
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class MatchingVersion(Base):
    """A counter per matcher input ("banks", "rules"), bumped in the transaction that changes it.

    Every ingest batch reads it (one primary-key row) to learn whether its cached banks or
    compiled rules are stale, instead of re-reading the tables.
    """

    __tablename__ = "matching_version"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class DiscoveryRef(Base):
    """A watched item referencing a channel (by forward, link, mention, invite or folder link).

    Kept so that "referenced by N distinct watched items" is an indexed count per channel,
    not a scan of every item's forward columns.
    """

    __tablename__ = "discovery_ref"
    __table_args__ = ({"sqlite_with_rowid": False},)

    channel: Mapped[str] = mapped_column(String(300), primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("item.id", ondelete="CASCADE"), primary_key=True
    )
    via: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotifyOutbox(Base):
    """One pending or delivered notification of an alert to one destination.

    Written in the transaction that raises the alert, delivered after it commits, so a crash or
    an unreachable receiver never loses a notification: undelivered rows are retried later.
    """

    __tablename__ = "notify_outbox"
    __table_args__ = (
        UniqueConstraint("alert_id", "destination"),
        Index("ix_notify_outbox_pending", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(64))
    """`webhook:N` or `apprise:N`: the position in settings, never the URL (it may hold a key)."""
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
