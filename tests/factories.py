"""Real observation records for tests, with defaults that keep each test about its point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.observations import (
    CollectorKind,
    Counter,
    HashStatus,
    Link,
    LinkKind,
    MediaHashes,
    Platform,
    Post,
    SourceKey,
)

GOLDEN = Path(__file__).resolve().parent / "golden" / "pdq"
"""Meta's PDQ reference images and hashes (BSD; tests/golden/pdq/SOURCE.md)."""
T0 = datetime(2024, 8, 26, 12, 0, tzinfo=UTC)
CHANNEL = SourceKey(Platform.TELEGRAM, platform_id="1234567890", username="example_news")


def post(message_id: int, text: str = "", **fields: Any) -> Post:
    defaults: dict[str, Any] = {
        "source": CHANNEL,
        "collector": CollectorKind.TELEGRAM_API,
        "observed_at": T0 + timedelta(hours=1),
        "posted_at": T0 + timedelta(minutes=message_id),
        "url": f"https://t.me/example_news/{message_id}",
        "views": Counter(100 + message_id),
    }
    defaults.update(fields)
    return Post(message_id=message_id, text=text, **defaults)


def photo(sha: str = "ab" * 32, ordinal: int = 0) -> MediaHashes:
    return MediaHashes(
        kind="photo", ordinal=ordinal, mime="image/jpeg", size=2048, width=640, height=480,
        sha256=sha, md5=sha[:32], pdq="f" * 64, pdq_quality=100, hash_status=HashStatus.HASHED,
    )  # fmt: skip


def link(url: str, kind: LinkKind = LinkKind.EXTERNAL, target: str | None = None) -> Link:
    return Link(url=url, kind=kind, target=target)
