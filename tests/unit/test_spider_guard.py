"""The resolver-level guard: addresses are judged as resolved, each time they are resolved."""

from __future__ import annotations

from scrapy import Request
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

from spiders.guard import GuardedResolver, url_refusal


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
