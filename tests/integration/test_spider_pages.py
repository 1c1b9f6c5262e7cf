"""The page-watch spider against the fixture site, through ingest, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from crawler.crawl import TargetOutcome
from sandbox.site import Image, SiteModel, WebPage
from tests.integration.spider_world import SpiderWorld, world_factory

__all__ = ["world_factory"]


def hub_model() -> SiteModel:
    model = SiteModel()
    model.pages["/hub"] = WebPage(
        title="Room directory",
        paragraphs=("새 방 열림", "join fast"),
        images=("/img/banner.jpg",),
        links=("https://t.me/+AbCdEfGh1234", "https://t.me/Some_Room", "/about"),
    )
    model.images["/img/banner.jpg"] = Image(seed=7)
    return model


def page_item(world: SpiderWorld) -> dict:
    (row,) = world.rows("SELECT * FROM item")
    return row._asdict()


def test_a_watched_page_becomes_a_snapshot_with_text_links_and_hashed_images(
    world_factory,
) -> None:
    world = world_factory(hub_model())
    url = world.site.url("/hub")
    world.watch("web_page", url)

    result = world.crawl(url)

    assert result.outcome.status == "ok", result.outcome
    item = page_item(world)
    assert item["title"] == "Room directory" and item["etag"] == '"v1"'
    assert "새 방 열림 join fast" in item["text"]
    links = {(r.kind, r.target) for r in world.rows("SELECT kind, target FROM link")}
    assert {("invite", "AbCdEfGh1234"), ("channel", "some_room"), ("external", None)} <= links
    (media,) = world.rows("SELECT kind, hash_status, pdq, sha256 FROM media")
    assert media.kind == "image" and media.hash_status == "hashed" and media.pdq and media.sha256
    assert world.site.beacon_hits == []


def test_an_unchanged_page_answers_304_to_its_etag_and_is_not_modified(world_factory) -> None:
    world = world_factory(hub_model())
    url = world.site.url("/hub")
    world.watch("web_page", url)
    world.crawl(url)

    again = world.crawl(url)

    assert again.outcome.status == "not_modified" and not again.outcome.failed
    assert world.site.requests_to("/hub")[-1].headers["If-None-Match"] == '"v1"'
    assert world.scalar("SELECT version_count FROM item") == 1


def test_without_an_etag_last_modified_is_sent_back_as_if_modified_since(world_factory) -> None:
    model = hub_model()
    model.pages["/hub"] = replace(model.pages["/hub"], etag=None)
    world = world_factory(model)
    url = world.site.url("/hub")
    world.watch("web_page", url)
    world.crawl(url)

    again = world.crawl(url)

    assert again.outcome.status == "not_modified"
    assert "If-Modified-Since" in world.site.requests_to("/hub")[-1].headers


def test_a_changed_page_adds_a_version(world_factory) -> None:
    model = hub_model()
    world = world_factory(model)
    url = world.site.url("/hub")
    world.watch("web_page", url)
    world.crawl(url)
    model.pages["/hub"] = replace(
        model.pages["/hub"], paragraphs=("moved to @other_room",), etag='"v2"'
    )

    changed = world.crawl(url)

    assert (changed.outcome.status, changed.counts.items_updated) == ("ok", 1), changed.outcome
    assert world.scalar("SELECT version_count FROM item") == 2


def test_selector_and_ignore_options_decide_what_counts_as_a_change(world_factory) -> None:
    model = SiteModel()

    def page(clock: str, body: str) -> str:
        return (
            f"<html><body><nav>menu</nav><div id='content'>{body}"
            f"<span class='clock'>{clock}</span></div><footer>ads</footer></body></html>"
        )

    model.raw_pages["/live"] = page("12:00", "rooms listed here")
    world = world_factory(model)
    url = world.site.url("/live")
    world.watch("web_page", url, selector="#content", ignore=[".clock"])
    world.crawl(url)
    assert page_item(world)["text"] == "rooms listed here"

    model.raw_pages["/live"] = page("12:05", "rooms listed here")
    assert world.crawl(url).counts.items_updated == 0
    model.raw_pages["/live"] = page("12:10", "a new room listed here")
    assert world.crawl(url).counts.items_updated == 1


def test_a_bad_selector_is_an_error_naming_it(world_factory) -> None:
    model = hub_model()
    world = world_factory(model)
    url = world.site.url("/hub")
    world.watch("web_page", url, selector="div[")

    result = world.crawl(url)

    assert result.outcome.status == "error" and "div[" in (result.outcome.message or "")


def test_a_page_slower_than_the_timeout_is_unreachable_and_the_run_ends(world_factory) -> None:
    model = hub_model()
    model.delays["/hub"] = 30
    world = world_factory(model)
    world.spiders = {"timeout_s": 1}
    url = world.site.url("/hub")
    world.watch("web_page", url)

    result = world.crawl(url)
    world.site.release_slow()

    assert result.outcome == TargetOutcome("unreachable", f"timed out after 1 s fetching {url}")
    assert world.scalar("SELECT count(*) FROM item") == 0


def _spider_processes() -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"spiders.runner" in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # ended while listing
    return found


def test_a_run_over_its_time_limit_is_killed_with_its_ingest_writer(world_factory) -> None:
    model = hub_model()
    model.delays["/hub"] = 30
    world = world_factory(model)
    world.spiders = {"max_run_s": 3}
    url = world.site.url("/hub")
    world.watch("web_page", url)

    result = world.crawl(url)
    world.site.release_slow()

    assert result.outcome.status == "error" and "max_run_s" in (result.outcome.message or "")
    # The writer notices its spider is gone within a poll interval (no event to await here).
    deadline = time.monotonic() + 10
    while _spider_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _spider_processes() == []


def test_a_page_over_the_size_cap_is_an_error_and_nothing_is_stored(world_factory) -> None:
    model = hub_model()
    model.pages["/hub"] = replace(model.pages["/hub"], paragraphs=("x" * 200_000,))
    world = world_factory(model)
    world.spiders = {"max_page_bytes": 100_000}
    url = world.site.url("/hub")
    world.watch("web_page", url)

    result = world.crawl(url)

    assert result.outcome.status == "error", result.outcome
    assert world.scalar("SELECT count(*) FROM item") == 0
