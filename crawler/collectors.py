"""Which collector runs which kind of target: the one registry every runner asks.

Collectors load lazily (Telethon only where a Telegram target runs, Scrapy only where a spider
starts), so the crawler core imports neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from crawler.collect import Collector, RunStatus, TargetOutcome
from crawler.locators import TargetKind
from crawler.settings import Settings

CollectorFactory = Callable[[], Collector]


def _telegram() -> Collector:
    from crawler.telegram.collector import TelegramCollector

    return TelegramCollector()


def _spider(name: str) -> CollectorFactory:
    def make() -> Collector:
        from spiders.runner import SpiderCollector

        return SpiderCollector(name)

    return make


COLLECTORS: Mapping[TargetKind, CollectorFactory] = MappingProxyType({
    TargetKind.TELEGRAM: _telegram,
    TargetKind.TME_PREVIEW: _spider("tme_preview"),
    TargetKind.WEB_PAGE: _spider("page_watch"),
})  # fmt: skip
"""Every crawlable kind (crawler.locators.CRAWLABLE_KINDS) and the collector that runs it."""


def collector_for(
    kind: TargetKind,
    settings: Settings,
    registry: Mapping[TargetKind, CollectorFactory] = COLLECTORS,
) -> Collector | TargetOutcome:
    """The collector for `kind`, or the outcome that says why none can run with `settings`."""
    factory = registry.get(kind)
    if factory is None:
        return TargetOutcome(RunStatus.NO_COLLECTOR, f"no collector for {kind.value} targets")
    collector = factory()
    return collector.unavailable(settings) or collector
