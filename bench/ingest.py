"""Ingest throughput: chanwatch's set-based batches against the naive ORM loop, same run.

100,000 synthetic posts (Korean and English text averaging ~140 characters, two links each, a
media hash record on one in ten) go into SQLite and PostgreSQL with the search index
maintained; the baseline is what the surveyed tools do: one ORM object and one commit per post.

    .venv/bin/python bench/ingest.py [--posts 100000] [--baseline-posts 10000] [--batch 1000]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from throwaway_db import postgres_engine, sqlite_engine

from crawler.ingest import ingest
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
from crawler.text import text_sha256
from storage.models import Item, Media, Source
from storage.models import Link as LinkRow
from storage.search import catch_up

KOREAN = [
    "지인",
    "능욕",
    "합성",
    "사진",
    "공유",
    "방",
    "링크",
    "텔레그램",
    "채널",
    "학교",
    "친구",
    "선배",
    "후배",
    "동생",
    "누나",
    "오늘",
    "내일",
]
ENGLISH = [
    "the",
    "room",
    "link",
    "share",
    "new",
    "channel",
    "today",
    "photo",
    "video",
    "join",
    "backup",
    "mirror",
    "invite",
]

def synthetic_posts(count: int, seed: int = 7) -> list[Post]:
    rng = random.Random(seed)
    source = SourceKey(Platform.TELEGRAM, platform_id="1700000000", username="bench_channel")
    start = datetime(2024, 8, 1, tzinfo=UTC)
    posts = []
    for n in range(1, count + 1):
        words = KOREAN if rng.random() < 0.6 else ENGLISH
        body = ""
        while len(body) < rng.randint(100, 180):
            body += rng.choice(words) + " "
        media: tuple[MediaHashes, ...] = ()
        if n % 10 == 0:
            digest = f"{rng.getrandbits(256):064x}"
            media = (
                MediaHashes(
                    kind="photo", mime="image/jpeg", size=rng.randint(10_000, 900_000),
                    width=1280, height=720, sha256=digest, md5=digest[:32],
                    pdq=f"{rng.getrandbits(256):064x}", pdq_quality=100,
                    hash_status=HashStatus.HASHED,
                ),
            )  # fmt: skip
        room = f"room_{n % 997:04d}"
        posts.append(
            Post(
                source=source,
                message_id=n,
                collector=CollectorKind.TELEGRAM_API,
                observed_at=start + timedelta(days=30),
                posted_at=start + timedelta(seconds=n * 17),
                url=f"https://t.me/bench_channel/{n}",
                text=body.strip(),
                views=Counter(rng.randint(10, 100_000)),
                forwards=Counter(rng.randint(0, 500)),
                media=media,
                links=(
                    Link(f"https://t.me/{room}", LinkKind.CHANNEL, room),
                    Link(f"https://example.org/p/{n}", LinkKind.EXTERNAL),
                ),
            )
        )
    return posts


def run_chanwatch(engine: Engine, posts: list[Post], batch: int) -> tuple[float, float]:
    """Posts/s of ingest, and posts/s of the search indexer catching up afterwards."""
    started = time.perf_counter()
    for offset in range(0, len(posts), batch):
        ingest(engine, posts[offset : offset + batch])
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    indexed = catch_up(engine)
    index_s = time.perf_counter() - started
    return len(posts) / ingest_s, (indexed / index_s if indexed else float("inf"))


def run_baseline(engine: Engine, posts: list[Post]) -> float:
    """The naive loop: an ORM object per post and a commit per post."""
    started = time.perf_counter()
    with Session(engine) as session:
        source = Source(platform="telegram", platform_id="1700000000", username="bench_channel")
        session.add(source)
        session.commit()
        for p in posts:
            item = Item(
                source_id=source.id, platform_id=str(p.message_id), message_id=p.message_id,
                url=p.url, posted_at=p.posted_at, collected_at=p.observed_at,
                last_seen_at=p.observed_at, text=p.text, text_sha256=text_sha256(p.text),
                views=p.views.value if p.views else None, views_exact=True,
                collector="telegram_api",
            )  # fmt: skip
            session.add(item)
            session.flush()
            for link in p.links:
                session.add(LinkRow(item_id=item.id, url=link.url, kind=link.kind.value))
            for m in p.media:
                session.add(
                    Media(
                        item_id=item.id, kind=m.kind, sha256=m.sha256, md5=m.md5, pdq=m.pdq,
                        hash_status=m.hash_status.value, observed_at=p.observed_at,
                    )
                )  # fmt: skip
            session.commit()
    return len(posts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--baseline-posts", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    posts = synthetic_posts(args.posts)
    figures: dict[str, object] = {"bench": "ingest", "posts": args.posts, "batch": args.batch}
    with tempfile.TemporaryDirectory() as directory:
        engine = sqlite_engine(directory, "chanwatch")
        sqlite_rate, sqlite_index_rate = run_chanwatch(engine, posts, args.batch)
        engine.dispose()
        baseline_engine = sqlite_engine(directory, "baseline")
        baseline_rate = run_baseline(baseline_engine, posts[: args.baseline_posts])
        baseline_engine.dispose()
    figures.update(
        sqlite_posts_per_s=round(sqlite_rate),
        sqlite_indexer_posts_per_s=round(sqlite_index_rate),
        baseline_sqlite_posts_per_s=round(baseline_rate),
        baseline_posts=args.baseline_posts,
        ratio_sqlite=round(sqlite_rate / baseline_rate, 1),
    )
    with postgres_engine() as pg_engine:
        pg_rate, _ = run_chanwatch(pg_engine, posts, args.batch)
        figures["postgres_posts_per_s"] = round(pg_rate)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
