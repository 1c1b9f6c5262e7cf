"""Work that keeps the service healthy, on its own schedule rather than only after a crawl:
search-index catch-up, operational checks (targets gone blind), notification delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from crawler.matching.notify import deliver_pending
from crawler.matching.operational import check_targets
from crawler.settings import Settings
from storage.search import catch_up


async def index_catch_up(engine: Engine, settings: Settings, now: datetime) -> None:
    await asyncio.to_thread(catch_up, engine)


async def operational_checks(engine: Engine, settings: Settings, now: datetime) -> None:
    await asyncio.to_thread(check_targets, engine, settings, now)


async def deliver_notifications(engine: Engine, settings: Settings, now: datetime) -> None:
    # Alerts raised since the last delivery go out; a failed one stays queued for a retry.
    await asyncio.to_thread(deliver_pending, engine, settings, now)


Chore = Callable[[Engine, Settings, datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str
    every: timedelta
    chore: Chore


CHORES = (
    Periodic("index", timedelta(seconds=30), index_catch_up),
    Periodic("checks", timedelta(minutes=5), operational_checks),
    Periodic("notify", timedelta(seconds=15), deliver_notifications),
)
"""Every chore, how often; in this order after a `crawl --once` pass."""


async def run_all(engine: Engine, settings: Settings, now: datetime) -> None:
    """Every chore once, in order (what a `crawl --once` pass ends with)."""
    for periodic in CHORES:
        await periodic.chore(engine, settings, now)
