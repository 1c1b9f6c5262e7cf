"""The resolver-level guard: addresses are judged as resolved, each time they are resolved."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from scrapy import Request
from scrapy.http import Response
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

from spiders.failures import Unfetched
from spiders.guard import GuardedResolver, SsrfGuardMiddleware, url_refusal


@implementer(IHostnameResolver)
class RebindingDns:
    """Answers a public address first and loopback afterwards, like a DNS-rebinding attacker."""

    def __init__(self) -> None:
        self.answers = ["93.184.216.34", "127.0.0.1"]

    def resolveHostName(
        self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"
    ):
        receiver.resolutionBegan(None)
        receiver.addressResolved(IPv4Address("TCP", self.answers.pop(0), portNumber))
        receiver.resolutionComplete()
        return receiver


class StubReactor:
    def __init__(self) -> None:
        self.nameResolver = RebindingDns()


@implementer(IResolutionReceiver)
class Collect:
    def __init__(self) -> None:
        self.addresses: list[str] = []

    def resolutionBegan(self, resolution) -> None:
        pass

    def addressResolved(self, address) -> None:
        self.addresses.append(address.host)

    def resolutionComplete(self) -> None:
        pass


def resolve(resolver: GuardedResolver, name: str) -> list[str]:
    receiver = Collect()
    resolver.resolveHostName(receiver, name, 80)
    return receiver.addresses


def test_a_name_that_rebinds_to_loopback_gets_no_address_the_second_time() -> None:
    resolver = GuardedResolver(StubReactor(), cache_size=0, allow=())

    assert resolve(resolver, "rebind.example") == ["93.184.216.34"]
    assert resolve(resolver, "rebind.example") == []
    assert resolver.refused_names == {"rebind.example"}


def test_the_allow_list_admits_an_exact_host_and_port_only() -> None:
    allow = ("127.0.0.1:8080",)
    assert url_refusal(Request("http://127.0.0.1:8080/"), allow) is None
    assert url_refusal(Request("http://127.0.0.1:8081/"), allow) is not None
    assert url_refusal(Request("http://127.0.0.2:8080/"), allow) is not None
    assert url_refusal(Request("ftp://example.org/"), allow) is not None


@pytest.mark.parametrize(
    "peer", ["127.0.0.1", "::ffff:0:7f00:1", "64:ff9b:1:7f00:0:100::", "2002:a00:1::1"]
)
def test_a_response_from_a_forbidden_peer_is_refused_in_any_ipv6_disguise(peer: str) -> None:
    guard = SsrfGuardMiddleware(allow=())
    request = Request("http://rebind.example/")
    response = Response(request.url, request=request, ip_address=ip_address(peer))
    with pytest.raises(Unfetched, match="refused by the private-address guard"):
        guard.process_response(request, response)


def test_a_default_port_allow_entry_admits_the_peer_of_a_url_without_a_port() -> None:
    guard = SsrfGuardMiddleware(allow=("127.0.0.1:80",))
    request = Request("http://127.0.0.1/")
    response = Response(request.url, request=request, ip_address=ip_address("127.0.0.1"))
    assert guard.process_response(request, response) is response
    assert guard.process_request(request) is None
