"""Fetch media into memory under the cap and hash it with crawler.hashing, nothing else.

Requests go through the engine, so every downloader middleware applies to them as to pages:
the private-address guard, robots.txt, the per-domain stop after a 429. The body lives in
memory only while a hash worker hashes it; Scrapy's HTTP cache is off, so no copy lands on
disk either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK

from crawler import hash_workers
from crawler.hash_workers import HashWorkers
from crawler.observations import HashStatus, MediaHashes, Post
from crawler.settings import MediaSettings
from spiders.tme_post import MediaUrl


def _workers(settings: MediaSettings) -> HashWorkers:
    """The hash workers of a spider process: one at most. Downloads are throttled per domain,
    so one worker keeps up, and every spider target runs in its own process that pays for its
    workers' start-up (~0.5 s of CPU each)."""
    return hash_workers.shared(min(1, settings.hash_processes))


async def fetch_bytes(crawler: Crawler, url: str, max_bytes: int) -> Response | HashStatus:
    """The response for `url`, or the hash status that says why there is none."""
    request = Request(url, callback=NO_CALLBACK, meta={"download_maxsize": max_bytes})
    assert crawler.engine is not None
    try:
        response = await crawler.engine.download_async(request)
    except DownloadCancelledError:
        return HashStatus.TOO_LARGE  # over the cap, announced or counted while streaming
    except IgnoreRequest:
        return HashStatus.ERROR
    except Exception:  # network failure, timeout: this medium fails, the page goes on
        return HashStatus.ERROR
    if response.status != 200:
        return HashStatus.ERROR
    return response


async def hash_url(
    crawler: Crawler,
    media: MediaHashes,
    url: str,
    *,
    role: str,
    settings: MediaSettings,
) -> MediaHashes:
    """`media` with the hashes of the bytes at `url` (a photo, or a video's poster frame)."""
    fetched = await fetch_bytes(crawler, url, settings.max_bytes)
    if isinstance(fetched, HashStatus):
        return replace(media, hash_status=fetched)
    mime = fetched.headers.get(b"Content-Type", b"").decode("latin-1").split(";")[0].strip()
    kind = "video_thumbnail" if role == "video_thumb" else media.kind
    # Decoding a picture from the web is the riskiest thing chanwatch does with hostile bytes:
    # it happens in a hash worker process, off the reactor (see crawler/hash_workers.py).
    hashed = await _workers(settings).hash(
        fetched.body, kind=kind, mime=mime or None, ordinal=media.ordinal,
        max_bytes=settings.max_bytes, file_id=None, width=None, height=None,
        duration=media.duration,
    )  # fmt: skip
    if role == "video_thumb":
        # The poster frame identifies the video visually; its bytes are not the video's.
        return replace(
            media,
            pdq=hashed.pdq,
            pdq_quality=hashed.pdq_quality,
            pdq_dihedral=hashed.pdq_dihedral,
            width=hashed.width,
            height=hashed.height,
            hash_status=hashed.hash_status,
        )
    return replace(hashed, kind=media.kind, ordinal=media.ordinal, duration=media.duration)


async def hash_post_media(
    crawler: Crawler,
    posts: Iterable[Post],
    urls: Iterable[MediaUrl],
    *,
    settings: MediaSettings,
) -> list[Post]:
    """Posts with every photo and video thumbnail hashed (videos themselves are not fetched)."""
    wanted = {(u.message_id, u.ordinal): u for u in urls if u.role in ("photo", "video_thumb")}
    out: list[Post] = []
    for post in posts:
        if not post.media:
            out.append(post)
            continue
        jobs = []
        for medium in post.media:
            found = wanted.get((post.message_id, medium.ordinal))
            if found is None:
                jobs.append(_unchanged(medium))
            else:
                jobs.append(
                    hash_url(crawler, medium, found.url, role=found.role, settings=settings)
                )
        out.append(replace(post, media=tuple(await asyncio.gather(*jobs))))
    return out


async def _unchanged(medium: MediaHashes) -> MediaHashes:
    return medium
