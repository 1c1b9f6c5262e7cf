"""The item pipeline: batches of observations to the ingest writer, then the spider's state.

Spiders yield `ObservationBatch` items (one per page). They go to ingest in larger batches,
through the `IngestWriter` process (see spiders/writer.py), in order. The spider's paging
floor and validators are saved only after the writer has committed the last batch: "commit
data before advancing a cursor" — a crash repeats work instead of skipping it.
"""

from __future__ import annotations

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
        session = self._spider.session
        await self._flush()
        error = await session.writer.close()
        if error is not None:  # the run fails, and its state is not advanced
            session.report("error", error)
            return
        self._spider.save_state()

    async def _flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if batch:
            await self._spider.session.writer.submit(batch)
