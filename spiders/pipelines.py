"""The item pipeline: batches of observations into `crawler.ingest`, then the spider's state.

Spiders yield `ObservationBatch` items (one per page). They are ingested in larger batches, in
a worker thread so downloads continue meanwhile, one batch at a time (SQLite has one writer).
The spider's paging floor and validators are saved only after the last batch is committed:
"commit data before advancing a cursor" — a crash repeats work instead of skipping it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, Self

from scrapy.crawler import Crawler

from crawler.observations import Observation
from spiders.session import CrawlSession

BATCH_OBSERVATIONS = 400
"""Observations per ingest call: larger batches amortize the transaction and matcher costs."""


@dataclass(frozen=True, slots=True)
class ObservationBatch:
    observations: tuple[Observation, ...]


class StatefulSpider(Protocol):
    session: CrawlSession

    def save_state(self) -> None:
        """Store the state this run reached (called after every observation is committed)."""


class IngestPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self._crawler = crawler
        self._buffer: list[Observation] = []
        self._lock = asyncio.Lock()
        self._failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def _spider(self) -> StatefulSpider:
        return self._crawler.spider  # type: ignore[return-value]

    async def process_item(self, item: ObservationBatch) -> ObservationBatch:
        self._buffer.extend(item.observations)
        if len(self._buffer) >= BATCH_OBSERVATIONS:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        await self._flush()
        if not self._failed:
            self._spider.save_state()

    async def _flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        session = self._spider.session
        async with self._lock:
            try:
                await asyncio.to_thread(session.run.emit, batch)
            except Exception as exc:  # the run fails, and its state is not advanced
                self._failed = True
                session.report("error", f"ingest failed: {type(exc).__name__}")
                raise
