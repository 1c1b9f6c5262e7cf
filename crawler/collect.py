"""What a collector and whatever runs it share: the run's status, its outcome, the sink.

A leaf: collectors (crawler/telegram, spiders) and their runners (crawler/jobs) import this and
nothing of each other, so adding a collector or a front end never makes an import cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crawler.ingest import IngestResult
    from crawler.observations import Observation
    from crawler.settings import Settings
    from storage.watchlist_store import TargetRow


class RunStatus(StrEnum):
    """How one run of one target ended; stored in `crawl_run.status` and `target.last_status`."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    """A web page answered 304: looked at, unchanged."""
    DEFERRED = "deferred"
    """A flood wait, a session in use elsewhere, a spent resolve budget: come back later."""
    RATE_LIMITED = "rate_limited"
    """The site asked us to wait (429, a challenge page)."""
    NO_ACCOUNT = "no_account"
    NO_COLLECTOR = "no_collector"
    ERROR = "error"
    ABANDONED = "abandoned"
    """The process running it died; closed by whoever found it still `running`."""
    # Telegram: the channel itself.
    PRIVATE = "private"
    INVALID = "invalid"
    BANNED = "banned"
    NOT_FOUND = "not_found"
    INVALID_USERNAME = "invalid_username"
    # Web: the site, its robots.txt, its markup.
    REFUSED = "refused"
    """A private or loopback address that `net.allow_private_hosts` does not admit."""
    UNREACHABLE = "unreachable"
    ROBOTS_DISALLOWED = "robots_disallowed"
    PARSER_STALE = "parser_stale"
    NO_PREVIEW = "no_preview"

    @property
    def failed(self) -> bool:
        """Counts as a failure: exit 1 from `crawl --once`, a step of error back-off."""
        return self not in _NOT_FAILED

    @property
    def succeeded(self) -> bool:
        """The target was actually looked at (moves `last_success_at`)."""
        return self in _SUCCEEDED


_SUCCEEDED = frozenset({RunStatus.OK, RunStatus.NOT_MODIFIED})
# Deferred, rate-limited and unserved runs fail nothing, but a target that only ever has those
# is blind, and the operational "no successful run" alert sees that through last_success_at.
_NOT_FAILED = _SUCCEEDED | {
    RunStatus.DEFERRED, RunStatus.RATE_LIMITED, RunStatus.NO_ACCOUNT, RunStatus.NO_COLLECTOR
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    status: RunStatus
    message: str | None = None
    retry_at: datetime | None = None
    """When a deferred or rate-limited target may run again (a flood wait's end, a
    Retry-After); None: at its next interval."""
    flood_wait_s: float | None = None
    """Seconds of the FLOOD_WAIT Telegram answered this run with, if it did (for metrics)."""

    def __post_init__(self) -> None:
        # Collectors may name a status by its value; an unknown one is a bug, caught here.
        object.__setattr__(self, "status", RunStatus(self.status))

    @property
    def failed(self) -> bool:
        return self.status.failed

    @property
    def succeeded(self) -> bool:
        return self.status.succeeded


class RunStopped(Exception):
    """Raised by a collector at a page boundary once `Sink.stopping` is set: everything before
    is committed, and the runner records the run as deferred so it resumes first thing."""


class Sink(Protocol):
    """What a collector gets for one run: the one way to hand observations to ingest, and the
    run's identity for the collector's own state store."""

    engine: Engine
    settings: Settings
    run_id: int

    def emit(self, observations: Sequence[Observation]) -> IngestResult:
        """Commit a batch (ingest and its matchers) before the collector moves past it."""
        ...

    @property
    def stopping(self) -> bool:
        """True once the process is shutting down: finish the current page, then return."""
        ...

    async def until_stopping(self) -> None:
        """Returns once the process starts shutting down (for collectors that wait on a child
        process rather than loop over pages)."""
        ...


class Collector(Protocol):
    name: str

    def unavailable(self, settings: Settings) -> TargetOutcome | None:
        """Why this collector cannot run with these settings, or None."""
        ...

    async def collect(self, target: TargetRow, run: Sink) -> TargetOutcome: ...
