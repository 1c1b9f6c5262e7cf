"""The fetch-time SSRF guard: refuse private destinations on the address actually dialled.

Two layers. `GuardedResolver` replaces Scrapy's name resolver on the reactor, so every
connection Twisted makes (first request, redirects, robots.txt, images) gets its addresses
from here, and forbidden ones are dropped before a socket exists. Because the check runs on
the very addresses the connection then uses, a name that resolves to a public address for a
validator and to 127.0.0.1 a second later (DNS rebinding) cannot slip through: there is no
second lookup. `SsrfGuardMiddleware` refuses what can be refused from the URL alone (scheme,
literal addresses in any spelling, local names) with a clear reason, and checks the peer
address of every response once more.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.resolver import CachingHostnameResolver, HostResolution
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.interfaces import IAddress, IHostResolution, IResolutionReceiver
from zope.interface import implementer

from crawler.addresses import address_refusal, host_refusal
from spiders.failures import Unfetched

ALLOW_SETTING = "CHANWATCH_ALLOW_PRIVATE_HOSTS"


def guard_refusal(reason: str) -> Unfetched:
    """The exception for a destination the guard will not dial (status `refused`)."""
    return Unfetched("refused", f"refused by the private-address guard: {reason}")


def address_refused(address: str, port: int | None, allow: tuple[str, ...]) -> bool:
    """Whether a resolved (numeric) address may not be dialled."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return True
    return address_refusal(ip, port, allow) is not None


def url_refusal(request: Request, allow: tuple[str, ...]) -> str | None:
    """Why this URL must not be fetched, judged without resolving anything; None if it may."""
    parts = urlparse_cached(request)
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme!r} is not fetched"
    try:
        port = _effective_port(parts.scheme, parts.port)
    except ValueError:
        return "invalid port"
    return host_refusal(parts.hostname or "", port, allow)


def _effective_port(scheme: str, port: int | None) -> int | None:
    # The port dialled, so a `host:80` allow entry admits http://host/ as the locator does.
    return port if port is not None else {"http": 80, "https": 443}.get(scheme)


@implementer(IResolutionReceiver)
class _FilteringReceiver:
    def __init__(
        self, receiver: IResolutionReceiver, name: str, port: int, resolver: GuardedResolver
    ) -> None:
        self._receiver, self._name, self._port, self._resolver = receiver, name, port, resolver

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self._receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        host = getattr(address, "host", None)
        if isinstance(host, str) and not address_refused(host, self._port, self._resolver.allow):
            self._receiver.addressResolved(address)
        else:
            self._resolver.refused_names.add(self._name.lower())

    def resolutionComplete(self) -> None:
        self._receiver.resolutionComplete()


class GuardedResolver(CachingHostnameResolver):
    """Scrapy's hostname resolver, minus every address the guard refuses (DNS_RESOLVER).

    Names under the reserved `.invalid` TLD fail at once without a DNS query, as RFC 6761
    §6.4 asks of resolver libraries (the system's does ask its name server).
    """

    def __init__(self, reactor: Any, cache_size: int, allow: tuple[str, ...]) -> None:
        super().__init__(reactor, cache_size)
        self.allow = allow
        self.refused_names: set[str] = set()
        """Names with an address the guard dropped: their failures say "refused", not DNS."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> Self:
        allow = tuple(crawler.settings.getlist(ALLOW_SETTING))
        return cls(reactor, crawler.settings.getint("DNSCACHE_SIZE"), allow)

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        if hostName.rstrip(".").lower().rsplit(".", 1)[-1] == "invalid":
            resolution = HostResolution(hostName)
            resolutionReceiver.resolutionBegan(resolution)
            resolutionReceiver.resolutionComplete()  # no address: a DNS lookup failure
            return resolution
        receiver = _FilteringReceiver(resolutionReceiver, hostName, portNumber, self)
        return super().resolveHostName(
            receiver, hostName, portNumber, addressTypes, transportSemantics
        )


def refused_by_resolver(host: str | None) -> bool:
    """Whether the installed resolver dropped an address of `host` in this process."""
    from twisted.internet import reactor

    resolver = getattr(reactor, "nameResolver", None)
    return isinstance(resolver, GuardedResolver) and (host or "").lower() in resolver.refused_names


class SsrfGuardMiddleware:
    """Downloader middleware: refuse forbidden URLs early, and check each response's peer."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        self._allow = allow

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(tuple(crawler.settings.getlist(ALLOW_SETTING)))

    def process_request(self, request: Request) -> None:
        reason = url_refusal(request, self._allow)
        if reason is not None:
            raise guard_refusal(reason)

    def process_response(self, request: Request, response: Response) -> Response:
        # Belt and braces: the resolver already refused these, so this never fires unless a
        # download handler bypasses the reactor's resolver.
        peer = response.ip_address
        parts = urlparse_cached(request)
        port = _effective_port(parts.scheme, parts.port)
        if peer is not None and address_refused(str(peer), port, self._allow):
            raise guard_refusal(f"peer {peer}")
        return response
