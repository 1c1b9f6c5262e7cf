"""The scheduler's time: the wall clock in production, a virtual one in tests and benchmarks.

The scheduler never sleeps by itself; it asks its clock to wait until the next due time, an end
of a run, or a stop, whichever comes first. The virtual clock jumps straight to the due time
when nothing is running, and stands still while runs are in flight (their I/O is real), so a
test can play hours of scheduling in seconds without racing real work against virtual time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Set
from datetime import UTC, datetime, timedelta
from typing import Protocol

FIRST_COMPLETED = asyncio.FIRST_COMPLETED


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def wait(
        self, seconds: float | None, running: Set[asyncio.Future[object]], stop: asyncio.Event
    ) -> None:
        """Return after `seconds` (None: no limit), when a run in `running` ends, or on stop."""
        ...


async def _first(
    running: Set[asyncio.Future[object]], stop: asyncio.Event, timeout: float | None
) -> None:
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({*running, stopped}, timeout=timeout, return_when=FIRST_COMPLETED)
    finally:
        stopped.cancel()


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def wait(
        self, seconds: float | None, running: Set[asyncio.Future[object]], stop: asyncio.Event
    ) -> None:
        await _first(running, stop, None if seconds is None else max(seconds, 0.0))


class VirtualClock:
    """Time that moves only when the scheduler waits with nothing running."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def wait(
        self, seconds: float | None, running: Set[asyncio.Future[object]], stop: asyncio.Event
    ) -> None:
        if running or seconds is None:
            await _first(running, stop, None)
            return
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)  # let whoever set `stop` or started work get a turn
