"""The t.me/s spider: a channel's public web preview, newest pages first, into ingest.

One spider run covers one `tme_preview` target. Paging and the incremental floor are decided
by `spiders.tme_paging` (pure), parsing by `spiders.tme_parser` (pure); this module only
fetches. Preview pages are never redirected through: t.me sends `/s/<name>` of a group, a
private or a missing channel to `/<name>`, which is the signal "no preview" (and, for a
channel that had one, a takedown signal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.observations import Observation, Platform, SourceAvailability, SourceKey
from spiders.media import hash_post_media
from spiders.pipelines import ObservationBatch
from spiders.session import CrawlSession
from spiders.tme_paging import Floor, PagingRun
from spiders.tme_parser import PreviewPage, parse_channel_page

_REDIRECTS = [301, 302, 303, 307, 308]


class TmePreviewSpider(scrapy.Spider):
    name = "tme_preview"

    def __init__(self, session: CrawlSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.channel = session.target.locator.lstrip("@").lower()
        self.base_url = session.settings.telegram.preview_base_url
        self.state_key = f"tme:{self.channel}"
        self.state = session.load_state(self.state_key)
        self.paging = PagingRun(
            Floor.from_state(self.state), session.settings.spiders.max_pages_per_run
        )
        self.previewed = False
        self.redirected = False

    async def start(self) -> AsyncIterator[Any]:
        netloc = urlparse_cached(scrapy.Request(self.base_url)).netloc
        until = self.session.domain_wait(netloc)
        if until is not None:
            self.session.report("rate_limited", f"{netloc} asked us to wait until {until:%c} UTC")
            return
        yield self._page(None)

    def _page(self, before: int | None) -> scrapy.Request:
        url = f"{self.base_url}/s/{quote(self.channel)}"
        if before is not None:
            url += f"?before={before}"
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.failed,
            dont_filter=True,
            meta={"dont_redirect": True, "handle_httpstatus_list": _REDIRECTS},
        )

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        observed_at = datetime.now(UTC)
        if response.status in _REDIRECTS:
            for batch in self._no_preview(response, observed_at):
                yield batch
            return
        page = parse_channel_page(response.text, page_url=response.url, observed_at=observed_at)
        if page.has_message_markup and not page.posts:
            self.session.report(
                "parser_stale", f"{response.url}: message markup but no posts parsed"
            )
            return
        yield ObservationBatch(await self._observations(page, observed_at))
        self.previewed = True
        ids = [post.message_id for post in page.posts]
        before = self.paging.after_page(ids, page.older_cursor)
        if before is not None:
            yield self._page(before)
        elif self.paging.stop_reason:
            self.logger.info("paging %s stopped: %s", self.channel, self.paging.stop_reason)

    async def _observations(self, page: PreviewPage, observed_at: datetime) -> tuple[Any, ...]:
        posts = list(page.posts)
        media = self.session.settings.media
        if media.hash_media and page.media_urls:
            assert self.crawler is not None
            posts = await hash_post_media(self.crawler, posts, page.media_urls, settings=media)
        found: list[Observation] = []
        # Every page repeats the channel header: one snapshot per run is enough.
        if page.channel is not None and not self.previewed:
            found.append(page.channel)
            if page.channel.source.platform_id:
                self.state["channel_id"] = page.channel.source.platform_id
            found.append(SourceAvailability(page.channel.source, observed_at, available=True))
        found.extend(posts)
        return tuple(found)

    def _no_preview(self, response: Response, observed_at: datetime) -> list[ObservationBatch]:
        self.redirected = True
        location = response.headers.get(b"Location", b"").decode("latin-1")
        self.session.report("no_preview", f"t.me/s/{self.channel} redirects to {location!r}")
        if self.state.get("previewed"):
            source = SourceKey(
                Platform.TELEGRAM,
                platform_id=self.state.get("channel_id"),
                username=self.channel,
            )
            reason = "the public preview now redirects (takedown or made private)"
            return [
                ObservationBatch(
                    (SourceAvailability(source, observed_at, available=False, reason=reason),)
                )
            ]
        return []

    def failed(self, failure: Any) -> None:
        self.session.request_failed(failure.value, failure.request)

    def save_state(self) -> None:
        """Called by the pipeline once every batch is committed."""
        state = dict(self.state)
        if self.previewed:
            state.update(self.paging.result().as_state(), previewed=True)
        elif self.redirected:
            state["previewed"] = False
        else:
            return  # nothing was read (stopped, refused): keep the state as it was
        self.session.save_state(self.state_key, state)
