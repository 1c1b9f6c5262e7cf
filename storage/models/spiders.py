"""State the Scrapy spiders keep between runs (paging floors, validators, robots.txt)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Json, UTCDateTime, utcnow


class SpiderState(Base):
    """One JSON document per key ("tme:<name>", "page:<url>", "robots:<origin>", …).

    Keyed documents rather than columns: each spider owns the shape of its own state, and
    nothing else queries it.
    """

    __tablename__ = "spider_state"

    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
