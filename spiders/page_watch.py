"""The page-watch spider: one `web_page` target, fetched conditionally, into ingest.

The page's validators (ETag, Last-Modified) from the last successful fetch are sent back as
If-None-Match / If-Modified-Since; a 304 means unchanged (status `not_modified`, nothing
ingested). Otherwise the selected part of the page becomes a `PageSnapshot`, and ingest
decides whether its normalized text makes a new version. Redirects are followed (each hop
passes the private-address guard); images are fetched into memory and hashed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.httpobj import urlparse_cached

from crawler.observations import MediaHashes, PageSnapshot, Platform, SourceKey
from spiders.media import hash_url
from spiders.page_extract import OptionError, extract_page
from spiders.pipelines import ObservationBatch
from spiders.session import CrawlSession

MAX_IMAGES_PER_PAGE = 50
"""A link hub can embed hundreds of images; beyond this many, a page is not worth hashing."""


class PageWatchSpider(scrapy.Spider):
    name = "page_watch"

    def __init__(self, session: CrawlSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.url = session.target.locator
        self.state_key = f"page:{self.url}"
        self.state = session.load_state(self.state_key)
        self.validators: dict[str, str] | None = None

    async def start(self) -> AsyncIterator[Any]:
        netloc = urlparse_cached(scrapy.Request(self.url)).netloc
        until = self.session.domain_wait(netloc)
        if until is not None:
            self.session.report("rate_limited", f"{netloc} asked us to wait until {until:%c} UTC")
            return
        headers = {}
        if self.state.get("etag"):
            headers["If-None-Match"] = self.state["etag"]
        if self.state.get("last_modified"):
            headers["If-Modified-Since"] = self.state["last_modified"]
        yield scrapy.Request(
            self.url,
            callback=self.parse,
            headers=headers,
            dont_filter=True,
            meta={"handle_httpstatus_list": [304]},
            errback=self.failed,
        )

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        if response.status == 304:
            self.session.report("not_modified")
            return
        if not isinstance(response, TextResponse):
            self.session.report("error", f"not an HTML page ({_content_type(response)})")
            return
        observed_at = datetime.now(UTC)
        try:
            options = self.session.target.options
            page = extract_page(response.text, url=response.url, options=options)
        except OptionError as exc:
            self.session.report("error", str(exc))
            return
        media = await self._hash_images(page.image_urls)
        etag = _header(response, b"ETag")
        last_modified = _header(response, b"Last-Modified")
        host = urlsplit(self.url).hostname or self.url
        yield ObservationBatch(
            (
                PageSnapshot(
                    source=SourceKey(Platform.WEB, platform_id=host),
                    url=self.url,
                    observed_at=observed_at,
                    title=page.title,
                    text=page.text,
                    etag=etag,
                    last_modified=last_modified,
                    media=media,
                    links=page.links,
                ),
            )
        )
        self.validators = {k: v for k, v in (("etag", etag), ("last_modified", last_modified)) if v}

    def failed(self, failure: Any) -> None:
        self.session.request_failed(failure.value, failure.request)

    async def _hash_images(self, urls: tuple[str, ...]) -> tuple[MediaHashes, ...]:
        hashed: list[MediaHashes] = []
        settings = self.session.settings.media
        for ordinal, url in enumerate(urls[:MAX_IMAGES_PER_PAGE]):
            placeholder = MediaHashes(kind="image", ordinal=ordinal)
            if not settings.hash_media:
                hashed.append(placeholder)
                continue
            assert self.crawler is not None
            medium = await hash_url(self.crawler, placeholder, url, role="image", settings=settings)
            hashed.append(medium)
        return tuple(hashed)

    def save_state(self) -> None:
        """Called by the pipeline once the snapshot is committed."""
        if self.validators is not None:
            self.session.save_state(self.state_key, self.validators)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _content_type(response: Response) -> str:
    return _header(response, b"Content-Type") or "no content type"
