"""Fetch media into memory under the cap and hash it with crawler.hashing, nothing else.

Requests go through the engine, so every downloader middleware applies to them as to pages:
the private-address guard, robots.txt, the per-domain stop after a 429. The body lives in
memory only while a hash worker hashes it; Scrapy's HTTP cache is off, so no copy lands on
disk either. A location's `geo:` value is never fetched: it gets the keyed hash the API
collector gives it (crawler/hashing/), or `no_key`.
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
from crawler.hashing.keyed import keyed_value_hash
from crawler.observations import HashStatus, MediaHashes, Post
from crawler.settings import MediaSettings
from spiders.tme_media import MediaUrl

_FETCHED = frozenset({"photo", "audio", "video_thumb"})
"""Roles whose bytes are fetched and hashed; a video's own file is not (see hash_post_media)."""


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
    """`media` with the hashes of the bytes at `url`: its own (a photo, a static sticker, a
    voice message), or the PDQ of the poster frame standing for it."""
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
    """Posts with every picture, poster frame and voice message hashed, and places keyed.
    Video files are not fetched: they are large, and the preview often omits them anyway."""
    wanted = {(u.message_id, u.ordinal): u for u in urls if u.role in _FETCHED | {"place"}}
    key = settings.doxx_hmac_key()
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
            elif found.role == "place":
                jobs.append(_unchanged(_keyed(medium, found.url, key)))
            else:
                jobs.append(
                    hash_url(crawler, medium, found.url, role=found.role, settings=settings)
                )
        out.append(replace(post, media=tuple(await asyncio.gather(*jobs))))
    return out


async def _unchanged(medium: MediaHashes) -> MediaHashes:
    return medium


def _keyed(medium: MediaHashes, value: str, key: bytes | None) -> MediaHashes:
    # A spider child gets no key until the job carries one (the settings it receives mask it).
    if key is None:
        return replace(medium, hash_status=HashStatus.NO_KEY)
    return replace(medium, sha256=keyed_value_hash(key, value), hash_status=HashStatus.HASHED)
