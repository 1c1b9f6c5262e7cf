"""The spiders' private-address guard: no spelling of a forbidden address is ever reached.

Fixtures are served on 127.0.0.1:<port> and admitted by `net.allow_private_hosts` as exactly
that host:port; canaries listen on 127.0.0.1:<other port> and on 127.0.0.2, which the
allow-list does not admit. A request reaching a canary is a hole in the guard.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.site import FixtureSite, SiteModel, WebPage
from tests.integration.spider_world import world_factory

__all__ = ["world_factory"]


@pytest.fixture
def canaries() -> Iterator[tuple[FixtureSite, FixtureSite]]:
    same_host = FixtureSite.start_in_thread(SiteModel())
    other_host = FixtureSite.start_in_thread(SiteModel(), host="127.0.0.2")
    yield same_host, other_host
    same_host.stop()
    other_host.stop()


def corpus(c1: int, c2: int) -> list[str]:
    """Forbidden destinations in every spelling (c1: a loopback port, c2: on 127.0.0.2)."""
    return [
        f"http://127.0.0.1:{c1}/plain",
        f"http://localhost:{c1}/",
        f"http://LocalHost:{c1}/",
        f"http://localhost.:{c1}/",
        f"http://rooms.localhost:{c1}/",
        f"http://localhost.localdomain:{c1}/",
        f"http://vm:{c1}/",  # /etc/hosts: a name that resolves to 127.0.0.1
        f"http://runsc:{c1}/",  # likewise
        f"http://vm.:{c1}/",
        f"http://2130706433:{c1}/",  # decimal
        f"http://017700000001:{c1}/",  # octal
        f"http://0x7f000001:{c1}/",  # hex
        f"http://0177.0.0.1:{c1}/",
        f"http://0x7f.0.0.1:{c1}/",
        f"http://0x7F.1:{c1}/",
        f"http://127.1:{c1}/",
        f"http://127.0.1:{c1}/",
        f"http://127.000.000.001:{c1}/",
        f"http://0.0.0.0:{c1}/",
        f"http://0:{c1}/",
        f"http://[::]:{c1}/",
        f"http://[::1]:{c1}/",
        f"http://[::ffff:127.0.0.1]:{c1}/",  # IPv4-mapped IPv6
        f"http://[::ffff:7f00:1]:{c1}/",
        f"http://[0:0:0:0:0:ffff:7f00:0001]:{c1}/",
        f"http://user@127.0.0.1:{c1}/",
        f"https://127.0.0.1:{c1}/",
        f"http://127.0.0.2:{c2}/",
        f"http://2130706434:{c2}/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
        "http://10.0.0.1/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
    ]


def redirects(c1: int, c2: int) -> dict[str, str]:
    return {
        "/r/loopback": f"http://127.0.0.1:{c1}/via-redirect",
        "/r/other-host": f"http://127.0.0.2:{c2}/via-redirect",
        "/r/name": f"http://vm:{c1}/via-redirect",
        "/r/mapped": f"http://[::ffff:127.0.0.1]:{c1}/via-redirect",
        "/r/private": "http://192.168.1.1/",
        "/r/chain": "/r/other-host",
    }


def hostile_hub(c1: int, c2: int) -> SiteModel:
    model = SiteModel()
    model.redirects.update(redirects(c1, c2))
    model.pages["/hub"] = WebPage(
        title="hub", paragraphs=("links",), images=(*corpus(c1, c2), *redirects(c1, c2))
    )
    return model


def test_no_spelling_of_a_forbidden_address_is_reached_from_a_page(world_factory, canaries) -> None:
    c1, c2 = (site.port for site in canaries)
    assert len(corpus(c1, c2)) + len(redirects(c1, c2)) >= 25
    world = world_factory(hostile_hub(c1, c2))
    url = world.site.url("/hub")
    world.watch("web_page", url)

    result = world.crawl(url)

    assert result.outcome.status == "ok", result.outcome
    assert [site.requests for site in canaries] == [[], []]
    statuses = {r.hash_status for r in world.rows("SELECT hash_status FROM media")}
    assert statuses == {"error"}
    assert world.scalar("SELECT count(*) FROM media") == len(corpus(c1, c2)) + len(
        redirects(c1, c2)
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("http://2130706433:{c1}/", "refused"),
        ("http://vm:{c1}/", "refused"),
        ("{site}/r/other-host", "refused"),
        ("{site}/r/name", "refused"),
    ],
)
def test_a_forbidden_target_or_redirect_is_refused_without_a_request(
    world_factory, canaries, path: str, status: str
) -> None:
    c1 = canaries[0].port
    world = world_factory(hostile_hub(c1, canaries[1].port))
    url = path.format(c1=c1, site=world.site.base_url)
    world.watch("web_page", url)

    result = world.crawl(url)

    assert (result.outcome.status, result.outcome.failed) == (status, True), result.outcome
    assert [site.requests for site in canaries] == [[], []]


def test_the_canary_is_reachable_once_admitted_so_the_corpus_proves_something(
    world_factory, canaries
) -> None:
    c1, c2 = (site.port for site in canaries)
    world = world_factory(hostile_hub(c1, c2))
    world.allow = [f"127.0.0.1:{c1}"]
    url = world.site.url("/hub")
    world.watch("web_page", url)

    world.crawl(url)

    reached = {r.path for r in canaries[0].requests}
    assert {"/robots.txt", "/plain", "/via-redirect"} <= reached
    assert canaries[1].requests == []  # 127.0.0.2 is still not admitted
