"""Downloader middlewares for manners: robots.txt fail-closed and cached, and stopping a
domain that says "slow down" (429) or puts up a challenge page.

The private-address guard lives in `spiders.guard`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from spiders.failures import Unfetched
from spiders.session import CrawlSession, why_unfetched

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
_CHALLENGE_STATUSES = frozenset({403, 429, 503})
_CHALLENGE_MARKERS = (b"challenge-running", b"cf-challenge", b"just a moment", b"captcha")


def _session(crawler: Crawler) -> CrawlSession | None:
    return getattr(crawler.spider, "session", None)


class FailClosedRobotsMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, but failing closed and cached between runs.

    RFC 9309 §2.3.1: a 4xx robots.txt means no rules; a 5xx or an unreachable one means
    "complete disallow". Scrapy treats every failure as "allow all"; here a server error,
    a 429, a network failure or a refused request means nothing is fetched from that site.
    Successful answers are kept in the spider state for `robots_max_age_s` (at most 24 h).

    Every request the site's robots.txt stops fails with `Unfetched`, whose status says why:
    `robots_disallowed` when robots.txt was read and disallows it or answered 5xx, and the
    cause of the failed robots.txt fetch otherwise (`unreachable`, `refused`, ...).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._max_age = timedelta(seconds=crawler.settings.getint("CHANWATCH_ROBOTS_MAX_AGE_S"))
        self._timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
        self._robots_urls: dict[str, str] = {}
        # netloc -> why nothing is fetched from it in this run (robots.txt failed or 5xx)
        self._closed: dict[str, Unfetched] = {}

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parts = urlparse_cached(request)
        self._robots_urls.setdefault(parts.netloc, f"{parts.scheme}://{parts.netloc}/robots.txt")
        if parts.netloc not in self._parsers:
            cached = self._cached_body(f"robots:{parts.scheme}://{parts.netloc}")
            if cached is not None:
                self._parsers[parts.netloc] = self._parser(cached)
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        if status >= 500 or status == 429:
            self._stats.inc_value("robotstxt/fail_closed")
            self._closed[netloc] = Unfetched(
                "robots_disallowed",
                f"robots.txt answered {status}: nothing is fetched from {netloc} (fail-closed)",
            )
            body = DISALLOW_ALL
        else:
            body = response.body if status < 400 else b""
            self._remember(f"robots:{urlparse_cached(response).scheme}://{netloc}", body)
        await super()._parse_robots(response.replace(body=body), netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        self._stats.inc_value("robotstxt/fail_closed")
        cause = why_unfetched(exc, self._robots_urls[netloc], self._timeout)
        if cause.status == "error":  # neither a network failure nor a refusal: say where
            cause = Unfetched("error", f"robots.txt of {netloc} could not be read: {cause}")
        self._closed[netloc] = cause
        waiting = self._parsers[netloc]
        parser = self._parser(DISALLOW_ALL)
        self._parsers[netloc] = parser
        waiting.callback(parser)  # type: ignore[union-attr]

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        netloc = urlparse_cached(request).netloc
        closed = self._closed.get(netloc)
        if closed is not None:
            self._stats.inc_value("robotstxt/forbidden")
            raise Unfetched(closed.status, closed.message)
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            raise Unfetched(
                "robots_disallowed", f"robots.txt of {netloc} disallows {request.url}"
            ) from None

    def _parser(self, body: bytes) -> RobotParser:
        return build_from_crawler(self._parserimpl, self.crawler, body)

    def _cached_body(self, key: str) -> bytes | None:
        session = _session(self.crawler)
        found = session.load_state_at(key) if session is not None else None
        if found is None or datetime.now(UTC) - found[1] > self._max_age:
            return None
        body = found[0].get("body")
        return body.encode("utf-8") if isinstance(body, str) else None

    def _remember(self, key: str, body: bytes) -> None:
        session = _session(self.crawler)
        if session is not None:
            session.save_state(key, {"body": body.decode("utf-8", "replace")})


class PoliteStopMiddleware:
    """A 429 or a challenge page ends all requests to that domain for this run.

    Retrying would look like the bot the site is trying to keep out. The stop is recorded with
    the Retry-After time, so the next run does not come back before it (see CrawlSession).
    """

    def __init__(self, crawler: Crawler) -> None:
        self._crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        session = _session(self._crawler)
        netloc = urlparse_cached(request).netloc
        if session is not None and netloc in session.stopped:
            reason = session.stopped[netloc]
            raise Unfetched("rate_limited", f"{netloc} stopped for this run: {reason}")

    def process_response(self, request: Request, response: Response) -> Response:
        reason = _stop_reason(response)
        session = _session(self._crawler)
        if reason is None or session is None:
            return response
        retry = response.headers.get(b"Retry-After")
        session.stop_domain(
            urlparse_cached(request).netloc, reason, retry.decode("latin-1") if retry else None
        )
        raise Unfetched("rate_limited", f"{reason}: stopping requests to this domain")


def _stop_reason(response: Response) -> str | None:
    if response.status == 429:
        return "429 Too Many Requests"
    if response.status in _CHALLENGE_STATUSES:
        head: Any = response.body[:4096].lower()
        if any(marker in head for marker in _CHALLENGE_MARKERS):
            return f"challenge page ({response.status})"
    return None
