"""Who is asking: the address the login throttle counts and the audit log records.

Behind a reverse proxy every request comes from the proxy, so the per-address throttle would
lock every reviewer out together. A proxy named in `web.trusted_proxies` passes the client on in
X-Forwarded-For, which it appends to; that header is read from the right, past the trusted
proxies, to the first address they did not add themselves. A header from anyone else is
ignored: a client could write any address there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_HOPS = 32
"""Entries of X-Forwarded-For looked at: a header is hostile input too."""


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`web.trusted_proxies` (validated by the settings) as networks."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: judge them as IPv4.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted if address.version == network.version)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str:
    """The client's address: the peer's own unless the peer is a trusted proxy; then the
    rightmost X-Forwarded-For entry that is not a trusted proxy. An entry that is not an
    address stops the walk at the last hop known good (a proxy never writes one)."""
    found = _address(peer or "")
    if found is None:
        return "unknown"
    if not _trusted(found, trusted):
        return str(found)
    hops = [hop for value in forwarded_for for hop in value.split(",")][-MAX_HOPS:]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        found = address
        if not _trusted(address, trusted):
            break
    return str(found)
