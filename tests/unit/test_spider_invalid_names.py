"""Names under the reserved `.invalid` TLD fail in the spider's resolver, never asking DNS.

So a test (or a watchlist) naming `*.invalid` never sends a query off the machine, and the
failure is the same "no address" a real DNS failure gives (status `unreachable`).
"""

from __future__ import annotations

import pytest
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

from spiders.guard import GuardedResolver


@implementer(IHostnameResolver)
class RecordingDns:
    """Twisted's resolver interface; records what it was asked and answers nothing."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def resolveHostName(
        self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"
    ):
        self.asked.append(hostName)
        receiver.resolutionBegan(None)
        receiver.resolutionComplete()
        return receiver


class StubReactor:
    def __init__(self) -> None:
        self.nameResolver = RecordingDns()


@implementer(IResolutionReceiver)
class Record:
    def __init__(self) -> None:
        self.events: list[str] = []

    def resolutionBegan(self, resolution) -> None:
        self.events.append("began")

    def addressResolved(self, address) -> None:
        self.events.append(f"address {address.host}")

    def resolutionComplete(self) -> None:
        self.events.append("complete")


@pytest.mark.parametrize("name", ["example.invalid", "rooms.Example.INVALID.", "invalid"])
def test_an_invalid_name_completes_with_no_address_and_no_query(name: str) -> None:
    reactor = StubReactor()
    resolver = GuardedResolver(reactor, cache_size=0, allow=())
    receiver = Record()

    resolver.resolveHostName(receiver, name, 80)

    assert receiver.events == ["began", "complete"]
    assert reactor.nameResolver.asked == []


def test_other_names_are_still_asked() -> None:
    reactor = StubReactor()
    resolver = GuardedResolver(reactor, cache_size=0, allow=())

    resolver.resolveHostName(Record(), "invalid.example.org", 80)

    assert reactor.nameResolver.asked == ["invalid.example.org"]
