"""Watchlists and their targets: what staff asked chanwatch to watch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, BigId, Json, UTCDateTime, utcnow


class Watchlist(Base):
    __tablename__ = "watchlist"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    targets: Mapped[list[Target]] = relationship(back_populates="watchlist")


class Target(Base):
    __tablename__ = "target"
    __table_args__ = (
        UniqueConstraint("watchlist_id", "kind", "locator"),
        Index("ix_target_due", "enabled", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlist.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    locator: Mapped[str] = mapped_column(String(2048), index=True)
    interval_s: Mapped[int] = mapped_column(Integer, default=3600)
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    added_by: Mapped[str | None] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))

    watchlist: Mapped[Watchlist] = relationship(back_populates="targets")
