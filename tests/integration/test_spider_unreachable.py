"""A site the spider cannot read says why in its status, and nothing is fetched from it.

robots.txt is fail-closed, so a failed robots.txt fetch stops the whole site; the status must
still tell a host that does not resolve, refuses connections or times out (`unreachable`), from
an address the private-address guard will not dial (`refused`), from a robots.txt that was
read and says no (`robots_disallowed`). Host names are under the reserved `.invalid` TLD, which
the spider's resolver fails without a DNS query: no test here leaves the loopback interface.
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from crawler.cli.main import run
from crawler.crawl import TargetOutcome, crawl_once
from sandbox.site import Fault, SiteModel, WebPage
from tests.integration.spider_world import SpiderWorld, point_cli_at, world_factory

__all__ = ["world_factory"]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hub_model() -> SiteModel:
    model = SiteModel()
    model.pages["/hub"] = WebPage(title="hub", paragraphs=("rooms",))
    return model


def target_row(world: SpiderWorld) -> tuple:
    return tuple(
        world.rows("SELECT last_status, consecutive_failures, last_success_at FROM target")[0]
    )


@pytest.mark.parametrize("status", ["unreachable", "refused"])
def test_unreachable_and_refused_fail_the_run_and_never_count_as_a_success(status: str) -> None:
    outcome = TargetOutcome(status, "why")

    assert (outcome.failed, outcome.succeeded) == (True, False)


def test_a_host_that_does_not_resolve_is_unreachable_not_robots_disallowed(world_factory) -> None:
    world = world_factory(hub_model())
    url = "http://rooms.example.invalid/hub"
    world.watch("web_page", url)

    result = world.crawl(url)

    assert result.outcome.status == "unreachable", result.outcome
    assert result.outcome.message == "cannot resolve rooms.example.invalid"
    # The operational "no successful run" alert sees it: a failure, no success recorded.
    assert target_row(world) == ("unreachable", 1, None)


def test_a_preview_host_that_does_not_resolve_is_unreachable(world_factory) -> None:
    world = world_factory(SiteModel())
    world.watch("tme_preview", "@pager")
    settings = world.settings.model_copy(
        update={"telegram": world.settings.telegram.model_copy(
            update={"preview_base_url": "https://t.invalid"}
        )}
    )  # fmt: skip

    (result,) = asyncio.run(crawl_once(world.engine, settings, locator="@pager"))

    assert result.outcome == TargetOutcome("unreachable", "cannot resolve t.invalid")
    assert world.site.requests == []


def test_a_refused_connection_is_named_in_the_crawl_table_and_exits_1(
    world_factory, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    site = world_factory(hub_model()).site
    point_cli_at(monkeypatch, db_url, site)
    port = closed_port()
    admitted = [f"127.0.0.1:{site.port}", f"127.0.0.1:{port}"]
    monkeypatch.setenv("CHANWATCH_NET__ALLOW_PRIVATE_HOSTS", json.dumps(admitted))
    url = f"http://127.0.0.1:{port}/hub"
    assert run(["watchlist", "add", url, "--kind", "web_page"]) == 0
    capsys.readouterr()

    assert run(["crawl", "--once", "--target", url]) == 1

    out = " ".join(capsys.readouterr().out.split())
    assert "unreachable" in out and f"connection refused by 127.0.0.1:{port}" in out, out
    assert "robots_disallowed" not in out


def test_a_robots_txt_slower_than_the_timeout_is_unreachable_and_nothing_else_is_asked(
    world_factory,
) -> None:
    model = hub_model()
    model.delays["/robots.txt"] = 30
    world = world_factory(model)
    world.spiders = {"timeout_s": 1}
    url = world.site.url("/hub")
    world.watch("web_page", url)

    result = world.crawl(url)
    world.site.release_slow()

    assert result.outcome.status == "unreachable", result.outcome
    assert result.outcome.message == f"timed out after 1 s fetching {world.site.url('/robots.txt')}"
    assert {r.path for r in world.site.requests} == {"/robots.txt"}


def test_a_robots_txt_that_disallows_us_is_still_robots_disallowed(world_factory) -> None:
    model = hub_model()
    model.robots = "disallow"
    world = world_factory(model)
    url = world.site.url("/hub")
    world.watch("web_page", url)

    result = world.crawl(url)

    netloc = f"127.0.0.1:{world.site.port}"
    assert result.outcome == TargetOutcome(
        "robots_disallowed", f"robots.txt of {netloc} disallows {url}"
    )
    assert {r.path for r in world.site.requests} == {"/robots.txt"}


def test_a_robots_txt_answering_503_fails_closed_and_says_so(world_factory) -> None:
    model = hub_model()
    model.faults.append(Fault("/robots.txt", status=503))
    world = world_factory(model)
    url = world.site.url("/hub")
    world.watch("web_page", url)

    result = world.crawl(url)

    assert result.outcome.status == "robots_disallowed", result.outcome
    assert (result.outcome.message or "").startswith("robots.txt answered 503")
    assert {r.path for r in world.site.requests} == {"/robots.txt"}


@pytest.mark.parametrize(
    ("locator", "cause"),
    [
        ("http://127.0.0.1:{port}/hub", "127.0.0.1 is a private, loopback"),
        ("http://vm:{port}/hub", "vm resolves to a private, loopback"),  # /etc/hosts: 127.0.0.1
    ],
)
def test_a_private_address_not_admitted_is_refused_and_says_so(
    world_factory, locator: str, cause: str
) -> None:
    world = world_factory(hub_model())
    url = locator.format(port=closed_port())
    world.watch("web_page", url)

    result = world.crawl(url)

    assert result.outcome.status == "refused", result.outcome
    assert f"refused by the private-address guard: {cause}" in (result.outcome.message or "")
    assert target_row(world) == ("refused", 1, None)
