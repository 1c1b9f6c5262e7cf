"""The address the login throttle counts: the peer's, unless a trusted proxy passes the client
on in X-Forwarded-For; a header from anyone else cannot make up an address."""

from __future__ import annotations

import pytest

from crawler.web.client_address import client_address, networks

PROXIES = networks(["10.0.0.0/8", "127.0.0.1", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # Not a proxy: its own header is ignored, whatever it says.
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("203.0.113.9", [], "203.0.113.9"),
        # A trusted proxy: the client it appended, read from the right.
        ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("10.1.2.3", ["198.51.100.66, 198.51.100.7"], "198.51.100.7"),
        # Two proxies in a row, the header split over two lines.
        ("10.1.2.3", ["198.51.100.7", "10.9.9.9"], "198.51.100.7"),
        # What the client wrote itself lies left of what the proxy appended: never read.
        ("127.0.0.1", ["1.1.1.1, 198.51.100.7"], "198.51.100.7"),
        # Garbage stops the walk at the last good hop.
        ("127.0.0.1", ["<script>, 10.0.0.5"], "10.0.0.5"),
        ("127.0.0.1", ["not an address"], "127.0.0.1"),
        # Only proxies in the chain: the leftmost of them.
        ("127.0.0.1", ["10.0.0.2, 10.0.0.3"], "10.0.0.2"),
        # IPv6, and IPv4 peers reported by a dual-stack socket.
        ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
        ("::ffff:127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("::ffff:203.0.113.9", ["198.51.100.7"], "203.0.113.9"),
        (None, ["198.51.100.7"], "unknown"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    peer: str | None, forwarded: list[str], expected: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address("127.0.0.1", ["198.51.100.7"], ()) == "127.0.0.1"


def test_a_huge_header_is_read_only_to_its_last_hops() -> None:
    hops = ", ".join(["10.0.0.1"] * 10_000 + ["198.51.100.7"])
    assert client_address("127.0.0.1", [hops], PROXIES) == "198.51.100.7"
