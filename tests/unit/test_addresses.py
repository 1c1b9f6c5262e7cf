"""One private-address judgement: every spelling gets the same verdict from the watchlist
locator, the spiders' URL guard and the spiders' resolver, and the allow-list admits what it
names in all three."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from twisted.internet import address as twisted_address
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

from crawler.addresses import (
    canonical_literal,
    embedded_ipv4,
    is_forbidden_address,
    literal_address,
)
from crawler.errors import LocatorError
from crawler.locators import TargetKind, normalize
from spiders.guard import GuardedResolver, url_refusal

REFUSED, ALLOWED = True, False

# (URL, refused?) — grouped by spelling; public counterparts sit next to the private ones.
CORPUS: list[tuple[str, bool]] = [
    # IPv4: dotted, short, decimal, octal, hex, mixed, trailing dot, fullwidth
    ("http://127.0.0.1/", REFUSED),
    ("http://127.1/", REFUSED),
    ("http://2130706433/", REFUSED),
    ("http://0x7f000001/", REFUSED),
    ("http://0X7F000001/", REFUSED),
    ("http://0177.0.0.1/", REFUSED),
    ("http://0x7f.0.0.1/", REFUSED),
    ("http://0x7F.1/", REFUSED),
    ("http://017700000001/", REFUSED),
    ("http://127.0.0.1./", REFUSED),
    ("http://127.000.000.001/", REFUSED),
    ("http://127.0.0.1:8080/", REFUSED),
    ("http://１２７.０.０.１/", REFUSED),
    ("http://10.0.0.1/", REFUSED),
    ("http://012.0.0.1/", REFUSED),
    ("http://167772161/", REFUSED),
    ("http://172.16.0.1/", REFUSED),
    ("http://172.31.255.254/", REFUSED),
    ("http://192.168.1.1/", REFUSED),
    ("http://0xc0a80101/", REFUSED),
    ("http://192.168.257/", REFUSED),
    ("http://169.254.169.254/", REFUSED),
    ("http://0xA9FEA9FE/", REFUSED),
    ("http://0.0.0.0/", REFUSED),
    ("http://0/", REFUSED),
    ("http://100.64.0.1/", REFUSED),
    ("http://198.18.0.1/", REFUSED),
    ("http://224.0.0.1/", REFUSED),
    ("http://239.255.255.250/", REFUSED),
    ("http://240.0.0.1/", REFUSED),
    ("http://255.255.255.255/", REFUSED),
    ("http://8.8.8.8/", ALLOWED),
    ("http://134744072/", ALLOWED),
    ("http://0x8080808/", ALLOWED),
    ("http://010.010.010.010/", ALLOWED),
    ("http://8.8.2056/", ALLOWED),
    ("http://1.1.1.1:8080/", ALLOWED),
    ("http://93.184.216.34./", ALLOWED),
    # IPv6: loopback, unspecified, zone ids, uppercase, ULA, site-local, multicast, docs
    ("http://[::1]/", REFUSED),
    ("http://[0:0:0:0:0:0:0:1]:8080/", REFUSED),
    ("http://[::]/", REFUSED),
    ("http://[fe80::1%25eth0]/", REFUSED),
    ("http://[FE80::1]/", REFUSED),
    ("http://[fc00::1]/", REFUSED),
    ("http://[FD12:3456::1]/", REFUSED),
    ("http://[fec0::1]/", REFUSED),
    ("http://[ff02::1]/", REFUSED),
    ("http://[ff0e::1]/", REFUSED),
    ("http://[2001:db8::1]/", REFUSED),
    ("http://[2606:4700:4700::1111]/", ALLOWED),
    ("http://[2001:4860:4860::8888]/", ALLOWED),
    ("http://[2001:4860:4860::8888%25eth0]/", ALLOWED),
    # IPv4-mapped ::ffff:0:0/96
    ("http://[::ffff:127.0.0.1]/", REFUSED),
    ("http://[::FFFF:7F00:1]/", REFUSED),
    ("http://[0:0:0:0:0:ffff:7f00:1]/", REFUSED),
    ("http://[::ffff:10.0.0.1]/", REFUSED),
    ("http://[::ffff:169.254.169.254]/", REFUSED),
    ("http://[::ffff:8.8.8.8]/", ALLOWED),
    ("http://[::ffff:808:808]/", ALLOWED),
    # IPv4-compatible ::/96
    ("http://[::127.0.0.1]/", REFUSED),
    ("http://[::a00:1]/", REFUSED),
    ("http://[::8.8.8.8]/", ALLOWED),
    # SIIT ::ffff:0:0:0/96
    ("http://[::ffff:0:7f00:1]/", REFUSED),
    ("http://[::ffff:0:127.0.0.1]/", REFUSED),
    ("http://[::FFFF:0:A9FE:A9FE]/", REFUSED),
    ("http://[::ffff:0:808:808]/", ALLOWED),
    # NAT64 well-known 64:ff9b::/96
    ("http://[64:ff9b::127.0.0.1]/", REFUSED),
    ("http://[64:ff9b::a00:1]/", REFUSED),
    ("http://[64:FF9B::C0A8:101]/", REFUSED),
    ("http://[64:ff9b::808:808]/", ALLOWED),
    # NAT64 local-use 64:ff9b:1::/48, RFC 6052 /48 embedding
    ("http://[64:ff9b:1:7f00:0:100::]/", REFUSED),
    ("http://[64:ff9b:1:a00:0:100::]/", REFUSED),
    ("http://[64:ff9b:1::a00:1]/", REFUSED),
    ("http://[64:ff9b:1:808:8:800::]/", ALLOWED),
    # 6to4 2002::/16
    ("http://[2002:7f00:1::]/", REFUSED),
    ("http://[2002:c0a8:101::1]/", REFUSED),
    ("http://[2002:A9FE:A9FE::]/", REFUSED),
    ("http://[2002:808:808::1]/", ALLOWED),
    # Teredo 2001::/32: server in bits 32-63, client inverted in the last 32
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", REFUSED),
    ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", REFUSED),
    ("http://[2001:0:a00:1:8000:63bf:f7f7:f7f7]/", REFUSED),
    ("http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/", ALLOWED),
    # ISATAP interface ids ::0:5efe:a.b.c.d and ::200:5efe:a.b.c.d
    ("http://[2606:4700::5efe:a00:1]/", REFUSED),
    ("http://[2606:4700::200:5efe:7f00:1]/", REFUSED),
    ("http://[2606:4700::200:5EFE:192.168.1.1]/", REFUSED),
    ("http://[fe80::5efe:808:808]/", REFUSED),
    ("http://[2606:4700::200:5efe:808:808]/", ALLOWED),
    # userinfo tricks: the host is what follows the last @
    ("http://example.com@127.0.0.1/", REFUSED),
    ("http://user:pass@10.0.0.1:8080/", REFUSED),
    ("http://8.8.8.8@[::1]/", REFUSED),
    # names
    ("http://localhost/", REFUSED),
    ("http://LOCALHOST./", REFUSED),
    ("http://foo.localhost/", REFUSED),
    ("http://ｌｏｃａｌｈｏｓｔ/", REFUSED),
    ("http://localhost.localdomain/", REFUSED),
    ("http://ip6-localhost/", REFUSED),
    ("http://example.com/", ALLOWED),
    ("http://EXAMPLE.com./", ALLOWED),
    ("https://bücher.de/", ALLOWED),
]
IDS = [url for url, _ in CORPUS]


def test_the_corpus_has_80_spellings_and_both_verdicts_for_every_transition_form() -> None:
    assert len(CORPUS) >= 80
    assert len(set(IDS)) == len(IDS)
    for prefix in ("::ffff:", "::ffff:0:", "64:ff9b::", "64:ff9b:1:", "2002:", "2001:0:", "5efe"):
        verdicts = {refused for url, refused in CORPUS if prefix in url.lower()}
        assert verdicts == {REFUSED, ALLOWED}, prefix


@pytest.mark.parametrize(("url", "refused"), CORPUS, ids=IDS)
def test_the_locator_gives_the_corpus_verdict(url: str, refused: bool) -> None:
    if refused:
        with pytest.raises(LocatorError):
            normalize(url, TargetKind.WEB_PAGE)
    else:
        assert normalize(url, TargetKind.WEB_PAGE).kind is TargetKind.WEB_PAGE


@pytest.mark.parametrize(("url", "refused"), CORPUS, ids=IDS)
def test_the_url_guard_gives_the_corpus_verdict(url: str, refused: bool) -> None:
    assert (url_refusal(Request(url), ()) is not None) is refused


@implementer(IHostnameResolver)
class FixedDns:
    """Answers every name with one address, as a hostile name server may."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def resolveHostName(
        self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"
    ):
        receiver.resolutionBegan(None)
        kind = twisted_address.IPv6Address if ":" in self.answer else twisted_address.IPv4Address
        receiver.addressResolved(kind("TCP", self.answer, portNumber))
        receiver.resolutionComplete()
        return receiver


class StubReactor:
    def __init__(self, answer: str) -> None:
        self.nameResolver = FixedDns(answer)


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


def _literal(url: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    return literal_address(urlsplit(url).hostname or "")


LITERALS = [(url, refused) for url, refused in CORPUS if _literal(url) is not None]


def _resolve_to(address: str, allow: tuple[str, ...], port: int = 80) -> list[str]:
    resolver = GuardedResolver(StubReactor(address), cache_size=0, allow=allow)
    receiver = Collect()
    resolver.resolveHostName(receiver, "rebound.example", port)
    return receiver.addresses


@pytest.mark.parametrize(("url", "refused"), LITERALS, ids=[url for url, _ in LITERALS])
def test_the_resolver_gives_a_name_answering_the_address_the_corpus_verdict(
    url: str, refused: bool
) -> None:
    address = _literal(url)
    assert address is not None
    assert (_resolve_to(address.compressed, ()) == []) is refused


REFUSED_LITERALS = [url for url, refused in LITERALS if refused]


@pytest.mark.parametrize("url", REFUSED_LITERALS)
def test_an_allow_entry_naming_the_address_admits_it_everywhere(url: str) -> None:
    address = _literal(url)
    assert address is not None
    parts = urlsplit(url)
    port = parts.port or 80
    allow = (f"{canonical_literal(address)}:{port}",)
    if parts.username is None:  # the locator refuses credentials whatever the host
        assert normalize(url, TargetKind.WEB_PAGE, allow).kind is TargetKind.WEB_PAGE
    assert url_refusal(Request(url), allow) is None
    assert _resolve_to(address.compressed, allow, port) == [address.compressed]
    # ...and nothing else: another port stays refused.
    assert url_refusal(Request(f"http://{canonical_literal(address)}:1/"), allow)
    assert _resolve_to(address.compressed, allow, port + 1) == []


def test_a_default_port_allow_entry_admits_the_url_without_its_port_in_the_guard_too() -> None:
    allow = ("127.0.0.1:80",)
    assert normalize("http://127.0.0.1/", allow=allow).value == "http://127.0.0.1/"
    assert url_refusal(Request("http://127.0.0.1/"), allow) is None
    assert url_refusal(Request("https://127.0.0.1/"), allow) is not None


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:7f00:1", ["127.0.0.1"]),
        ("::ffff:0:a00:1", ["10.0.0.1"]),
        ("::808:808", ["8.8.8.8"]),
        ("64:ff9b::c0a8:101", ["192.168.1.1"]),
        ("64:ff9b:1:c0a8:1:100::", ["192.168.1.1"]),
        ("2002:a9fe:a9fe::1", ["169.254.169.254"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["65.54.227.120", "192.0.2.45"]),
        ("fe80::200:5efe:a00:1", ["10.0.0.1"]),
        ("2001:4860:4860::8888", []),
        ("::1", []),
        ("::", []),
    ],
)
def test_the_embedded_ipv4_of_each_transition_form(address: str, carried: list[str]) -> None:
    # The Teredo example is RFC 4380's own (server 65.54.227.120, client 192.0.2.45).
    found = embedded_ipv4(ipaddress.IPv6Address(address))
    assert [str(ipv4) for ipv4 in found] == carried


def test_a_transition_form_is_judged_like_the_ipv4_it_carries() -> None:
    for n in range(0, 2**32, 2**32 // 4099):
        ipv4 = ipaddress.IPv4Address(n)
        forms = [f"::ffff:{ipv4}", f"::ffff:0:{ipv4}", f"64:ff9b::{ipv4}",
                 f"2002:{n >> 16:x}:{n & 0xFFFF:x}::1"]  # fmt: skip
        for form in forms:
            assert is_forbidden_address(ipaddress.IPv6Address(form)) is is_forbidden_address(ipv4)
