"""What one spider run shares between the spider, its middlewares and the ingest pipeline.

The spider gets a `CrawlSession` as an argument; middlewares and the pipeline reach it as
`crawler.spider.session`. It holds the run's outcome (the most actionable status reported),
the domains stopped for this run, the ingest writer, and access to the spider state store.
`why_unfetched` names the cause of a failed request, for the page's errback and for
robots.txt alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import CannotResolveHostError
from scrapy.utils.httpobj import urlparse_cached
from sqlalchemy import Engine

from crawler.collect import TargetOutcome
from crawler.settings import Settings
from spiders.failures import Unfetched, unreachable_reason
from spiders.guard import guard_refusal, refused_by_resolver
from spiders.writer import IngestWriter
from storage import spider_store
from storage.watchlist_store import TargetRow

MAX_RETRY_AFTER = timedelta(days=1)
DEFAULT_RETRY_AFTER = timedelta(minutes=15)
# Which outcome a run reports when several things happened: the most actionable one.
_PRECEDENCE = (
    "error", "refused", "unreachable", "robots_disallowed", "parser_stale", "no_preview",
    "rate_limited", "not_modified", "ok",
)  # fmt: skip


def retry_after(value: str | None, now: datetime) -> datetime:
    """When a server that said `Retry-After: value` may be asked again (capped at a day)."""
    delay = DEFAULT_RETRY_AFTER
    text = (value or "").strip()
    if text.isdigit():
        delay = timedelta(seconds=int(text))
    elif text:
        try:
            delay = parsedate_to_datetime(text) - now
        except (TypeError, ValueError):
            delay = DEFAULT_RETRY_AFTER
    return now + max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def why_unfetched(exc: BaseException, url: str, timeout: float) -> Unfetched:
    """The status and message for a request to `url` that ended in `exc`, not a response."""
    if isinstance(exc, Unfetched):
        return exc
    host = urlsplit(url).hostname
    # The guard drops forbidden addresses inside the resolver, so a name with only forbidden
    # addresses fails like a DNS failure: ask the resolver before calling it unresolvable.
    if isinstance(exc, CannotResolveHostError) and refused_by_resolver(host):
        forbidden = "a private, loopback, link-local or unspecified address"
        return guard_refusal(f"{host} resolves to {forbidden}")
    reason = unreachable_reason(exc, url, timeout)
    if reason is not None:
        return Unfetched("unreachable", reason)
    return Unfetched("error", f"{type(exc).__name__}: {exc}")


class CrawlSession:
    def __init__(
        self, settings: Settings, engine: Engine, target: TargetRow, writer: IngestWriter
    ) -> None:
        self.settings, self.engine, self.target, self.writer = settings, engine, target, writer
        self.stopped: dict[str, str] = {}
        self._outcome = TargetOutcome("ok")

    @property
    def outcome(self) -> TargetOutcome:
        return self._outcome

    def report(
        self, status: str, message: str | None = None, retry_at: datetime | None = None
    ) -> None:
        """Record a problem; the run ends with the most actionable status reported."""
        if _PRECEDENCE.index(status) < _PRECEDENCE.index(self._outcome.status):
            self._outcome = TargetOutcome(status, message, retry_at)

    def request_failed(self, exc: BaseException, request: Request) -> None:
        """A page request ended without a response: say why in the run's status."""
        if urlparse_cached(request).netloc in self.stopped:
            return  # a 429 or challenge already reported rate_limited; this is its echo
        timeout = request.meta.get("download_timeout", self.settings.spiders.timeout_s)
        unfetched = why_unfetched(exc, request.url, timeout)
        self.report(unfetched.status, unfetched.message)

    # -- state between runs -----------------------------------------------------------------

    def load_state(self, key: str) -> dict[str, Any]:
        found = self.load_state_at(key)
        return found[0] if found else {}

    def load_state_at(self, key: str) -> tuple[dict[str, Any], datetime] | None:
        with self.engine.connect() as conn:
            return spider_store.load(conn, key)

    def save_state(self, key: str, state: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            spider_store.save(conn, key, state, datetime.now(UTC))

    # -- domains stopped by 429 or a challenge ----------------------------------------------

    def stop_domain(self, netloc: str, reason: str, retry_after_header: str | None) -> None:
        """No more requests to `netloc` in this run, nor before its Retry-After has passed."""
        if netloc in self.stopped:
            return
        now = datetime.now(UTC)
        until = retry_after(retry_after_header, now)
        self.stopped[netloc] = reason
        self.save_state(f"domain:{netloc}", {"until": until.isoformat(), "reason": reason})
        message = f"{reason} from {netloc}; not before {until:%H:%M:%S} UTC"
        self.report("rate_limited", message, until)

    def domain_wait(self, netloc: str) -> datetime | None:
        """Until when an earlier run was told to leave `netloc` alone, if that is still ahead."""
        until = self.load_state(f"domain:{netloc}").get("until")
        if until is None:
            return None
        when = datetime.fromisoformat(until)
        return when if when > datetime.now(UTC) else None
