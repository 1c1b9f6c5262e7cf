"""Incremental paging of a t.me/s channel: a pure state machine, no I/O.

State between runs is a *floor* (every id <= floor is stored) and at most one *gap*: a run
that stopped early (page cap, crash) stored ids in [gap_before, gap_top] but not those between
the floor and gap_before. Each run reads the newest pages first, down to what is stored; then,
if there is a gap, continues below it down to the floor. Only a run that closes the gap raises
the floor, so a capped run leaves work for the next one, never a permanent hole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Floor:
    floor: int | None = None
    gap_top: int | None = None
    gap_before: int | None = None

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Floor:
        def num(key: str) -> int | None:
            value = state.get(key)
            return value if isinstance(value, int) else None

        floor = cls(num("floor"), num("gap_top"), num("gap_before"))
        return floor if (floor.gap_top is None) == (floor.gap_before is None) else cls(floor.floor)

    def as_state(self) -> dict[str, int | None]:
        return {"floor": self.floor, "gap_top": self.gap_top, "gap_before": self.gap_before}


class PagingRun:
    """Decides, page by page, which `before` cursor to fetch next (None: stop)."""

    def __init__(self, start: Floor, max_pages: int) -> None:
        self.start, self.max_pages = start, max_pages
        self.pages = 0
        self.newest: int | None = None
        self.complete = False
        self.capped = False
        self.stop_reason: str | None = None
        self._below_gap = False
        self._last_cursor: int | None = None
        self._resume: int | None = None

    @property
    def _stop_at(self) -> int | None:
        if self.start.gap_top is not None and not self._below_gap:
            return self.start.gap_top
        return self.start.floor

    def after_page(self, ids: Sequence[int], older_cursor: int | None) -> int | None:
        """Record one page (its message ids and older cursor); return the next cursor or None."""
        self.pages += 1
        if ids and self.newest is None:
            self.newest = max(ids)
        stop_at = self._stop_at
        reached = stop_at is not None and ids and min(ids) <= stop_at
        if reached or older_cursor is None:
            if reached and not self._below_gap and self.start.gap_before is not None:
                self._below_gap = True
                return self._next(self.start.gap_before)
            self.complete = True
            return None
        if self._last_cursor is not None and older_cursor >= self._last_cursor:
            self.stop_reason = "the older-page cursor did not decrease"
            return None
        return self._next(older_cursor)

    def _next(self, cursor: int) -> int | None:
        self._resume = cursor
        if self.pages >= self.max_pages:
            self.capped = True
            self.stop_reason = f"page cap ({self.max_pages}) reached"
            return None
        self._last_cursor = cursor
        return cursor

    def result(self) -> Floor:
        """The state to store once everything this run read is committed."""
        if self.complete:
            top = self.newest if self.newest is not None else self.start.floor
            if self.start.floor is not None and top is not None:
                top = max(top, self.start.floor)
            return Floor(top)
        if self.capped and self.newest is not None and self._resume is not None:
            return Floor(self.start.floor, self.newest, self._resume)
        return self.start  # paging broke: keep what is known, re-read next time
