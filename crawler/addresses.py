"""Which hosts and addresses chanwatch may dial: the one private-address judgement.

Watchlist locators (crawler/locators.py, at add time, by spelling), the spiders' resolver guard
(spiders/guard.py, on every address actually dialled) and webhook checks all ask here, so an
address refused in one place is refused in all of them.

An IPv6 address that carries an IPv4 address (mapped, compatible, SIIT, NAT64, 6to4, Teredo,
ISATAP) is judged by the IPv4 address it carries: that is where a translating network or relay
delivers it, and Python's `is_global` calls several of these forms global whatever they carry
(`::ffff:0:7f00:1` reaches 127.0.0.1 through a SIIT translator). Pure functions, no I/O.
"""

from __future__ import annotations

import ipaddress

from crawler.errors import LocatorError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
FORBIDDEN = "a private, loopback, link-local or unspecified address"

_V6 = ipaddress.IPv6Network
# Prefixes whose low 32 bits are an IPv4 address and which are nothing but that address.
_LOW_32_FORMS = (
    _V6("::ffff:0:0/96"),  # IPv4-mapped (RFC 4291)
    _V6("::ffff:0:0:0/96"),  # SIIT IPv4-translated (RFC 2765)
    _V6("::/96"),  # IPv4-compatible, deprecated (RFC 4291); holds :: and ::1 too
    _V6("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
)
_NAT64_LOCAL = _V6("64:ff9b:1::/48")  # NAT64 local-use prefix (RFC 8215)
_SIXTOFOUR = _V6("2002::/16")
_TEREDO = _V6("2001::/32")
# ISATAP interface ids are 00-00-5E-FE or 02-00-5E-FE, then the IPv4 address (RFC 5214); the
# mask also ignores the group bit, so no variant of the id escapes the embedded check.
_ISATAP_ID_MASK = 0xFCFFFFFF
_ISATAP_ID = 0x00005EFE


def literal_address(host: str) -> IPAddress | None:
    """The address a host literal denotes, in every spelling a resolver accepts.

    Covers dotted, shortened (127.1), decimal (2130706433), octal (0177.0.0.1) and hex (0x7f.1)
    IPv4, bracketed or bare IPv6, zone ids and a trailing dot. None for names; LocatorError for
    a number no resolver would read as one address (256.1.1.1, 1.2.3.4.5, 08.1.1.1).
    """
    bare = host.strip("[]").split("%")[0]
    if ":" in bare:
        try:
            return ipaddress.IPv6Address(bare)
        except ValueError:
            raise LocatorError(f"invalid IPv6 address {host!r}") from None
    parts = bare.split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or not all(_is_number(part) for part in parts) or len(parts) > 4:
        if parts and _is_number(parts[-1]):
            raise LocatorError(f"invalid IPv4 address {host!r}")
        return None
    numbers = [_parse_number(part) for part in parts]
    last_bits = 8 * (5 - len(numbers))
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 1 << last_bits:
        raise LocatorError(f"invalid IPv4 address {host!r}")
    value = 0
    for n in numbers[:-1]:
        value = value << 8 | n
    value = value << last_bits | numbers[-1]
    return ipaddress.IPv4Address(value)


def _is_number(part: str) -> bool:
    if part[:2].lower() == "0x":
        return all(c in "0123456789abcdefABCDEF" for c in part[2:])
    return part.isascii() and part.isdigit()


def _parse_number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        if any(c in "89" for c in part):
            raise LocatorError(f"invalid octal number {part!r} in address")
        return int(part, 8)
    return int(part)


def embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 transition form carries; empty for any other address.

    Teredo carries two: its server (bits 32-63) and its client (the last 32 bits, inverted).
    An ISATAP interface id counts under any prefix, a 6to4 or Teredo one included: behind
    the relay, the ISATAP router delivers to the address in the id.
    """
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    value = int(address)
    carried: list[int] = []
    if any(address in form for form in _LOW_32_FORMS) and value > 1:
        # (:: and ::1 sit inside ::/96 but are IPv6's own unspecified and loopback addresses.)
        carried.append(value & 0xFFFFFFFF)
    elif address in _NAT64_LOCAL:
        # RFC 6052 at /48: bits 48-63 are the first two octets, bits 64-71 the zero "u" octet,
        # bits 72-87 the last two. A translator on a longer prefix inside the /48 fixes the
        # bits after 48 itself; zero-padded ones read here as 0.x.x.x, which is refused.
        carried.append((value >> 64 & 0xFFFF) << 16 | value >> 40 & 0xFFFF)
    elif address in _SIXTOFOUR:
        carried.append(value >> 80 & 0xFFFFFFFF)
    elif address in _TEREDO:
        carried += [value >> 64 & 0xFFFFFFFF, ~value & 0xFFFFFFFF]
    if value >> 32 & _ISATAP_ID_MASK == _ISATAP_ID:
        carried.append(value & 0xFFFFFFFF)
    return tuple(ipaddress.IPv4Address(n) for n in carried)


def _translation_only(address: ipaddress.IPv6Address) -> bool:
    """Whether the address is nothing but a carrier for IPv4 (its prefix says no more).

    ISATAP is not: its prefix is an ordinary IPv6 prefix and is judged as well."""
    return any(address in form for form in (*_LOW_32_FORMS, _NAT64_LOCAL, _SIXTOFOUR, _TEREDO))


def _ipv4_forbidden(address: ipaddress.IPv4Address) -> bool:
    # Spelled out rather than trusting `is_global` alone: its meaning moved between Python
    # releases, and it calls multicast global.
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
    )


def is_forbidden_address(address: IPAddress) -> bool:
    """Private, loopback, link-local, unspecified, multicast, reserved and other non-global
    addresses, IPv6 forms that carry such an IPv4 address included."""
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_forbidden(address)
    carried = embedded_ipv4(address)
    if any(_ipv4_forbidden(ipv4) for ipv4 in carried):
        return True
    if carried and _translation_only(address):
        return False
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_site_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
    )


def host_allowed(host: str, port: int | None, allow: tuple[str, ...]) -> bool:
    """Whether `net.allow_private_hosts` lets `host` (a name or canonical literal) through.

    Entries are hosts, `host:port` pairs or CIDRs; a CIDR admits literal addresses only.
    """
    bare = host.strip("[]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
    names = {host, bare}
    if port is not None:
        names |= {f"{host}:{port}", f"{bare}:{port}"}
    for entry in allow:
        if "/" not in entry:
            if entry in names:
                return True
        elif address is not None and address in ipaddress.ip_network(entry, strict=False):
            return True
    return False


def is_local_name(host: str) -> bool:
    """Names every system resolves to itself (RFC 6761 reserves `.localhost` for that)."""
    name = host.rstrip(".").lower()
    return name in LOCAL_NAMES or name.endswith(".localhost")


def canonical_literal(address: IPAddress) -> str:
    """How a URL (and an allow entry) writes the address: dotted IPv4, bracketed short IPv6."""
    return f"[{address.compressed}]" if address.version == 6 else str(address)


def address_refusal(address: IPAddress, port: int | None, allow: tuple[str, ...]) -> str | None:
    """Why `address` may not be dialled on `port`, or None: forbidden and not allow-listed."""
    if not is_forbidden_address(address) or host_allowed(canonical_literal(address), port, allow):
        return None
    carried = [str(ipv4) for ipv4 in embedded_ipv4(address) if _ipv4_forbidden(ipv4)]
    where = f" (it carries {', '.join(carried)})" if carried else ""
    return f"{canonical_literal(address)} is {FORBIDDEN}{where}"


def host_refusal(host: str, port: int | None, allow: tuple[str, ...]) -> str | None:
    """Why a URL's host may not be dialled, judged from its spelling alone; None when it may.

    `host` is ASCII as a URL parser leaves it after IDNA: a name, or an address literal in any
    spelling above. Names that are not local pass here; their addresses are judged when they
    are resolved (`address_refusal`).
    """
    name = host.rstrip(".").lower()
    if not name:
        return "URL has no host"
    if host_allowed(name, port, allow):
        return None
    try:
        address = literal_address(name)
    except LocatorError as exc:
        return str(exc)
    if address is None:
        return f"{name} is a local name" if is_local_name(name) else None
    return address_refusal(address, port, allow)
