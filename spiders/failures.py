"""Why a request was not made or got no answer, in words a run status can carry.

Scrapy's robots.txt middleware turns every failure to read robots.txt into one "Forbidden by
robots.txt", and an errback sees only an exception; an investigator reading the run's status
needs the cause. Requests we decline to make raise `Unfetched` with the status that says why;
network failures are named by `unreachable_reason`. `spiders.session.why_unfetched` puts the
two together with the private-address guard's verdict.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from twisted.internet.error import ConnectError, TCPTimedOutError

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Unfetched(IgnoreRequest):
    """A request not made (or abandoned), with the run status and message that say why."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def host_port(url: str) -> str:
    """`host:port` of `url` as dialled (the scheme's default port when none is written)."""
    parts = urlsplit(url)
    host = parts.hostname or parts.netloc
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def unreachable_reason(exc: BaseException, url: str, timeout: float) -> str | None:
    """What kept the request for `url` from reaching its host, or None if it was not that.

    Scrapy's HTTP/1.1 handler wraps Twisted's DNS, refused and timeout errors in its own
    exceptions; other connect failures (no route, a TCP connect timeout) stay Twisted's.
    """
    if isinstance(exc, CannotResolveHostError):
        return f"cannot resolve {urlsplit(url).hostname}"
    if isinstance(exc, DownloadConnectionRefusedError):
        return f"connection refused by {host_port(url)}"
    if isinstance(exc, DownloadTimeoutError | TCPTimedOutError):
        return f"timed out after {timeout:g} s fetching {url}"
    if isinstance(exc, ConnectError):
        return f"cannot connect to {host_port(url)}: {exc}"
    return None
