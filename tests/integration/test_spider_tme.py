"""The t.me/s spider against the fixture site, through ingest, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from crawler.ingest import ingest
from crawler.observations import Counter, Platform, SourceKey
from sandbox.site import (
    FixtureChannel,
    Image,
    Photo,
    SiteModel,
    bomb_image,
    challenge,
    numbered_posts,
    oversized_image,
    throttle,
)
from sandbox.site.traps import TRAP_CHANNEL_ID, trap_posts, trap_site_model
from tests.factories import post
from tests.integration.spider_world import SpiderWorld, world_factory

__all__ = ["world_factory"]


def pager(ids: list[int], **channel: object) -> SiteModel:
    model = SiteModel()
    model.add_channel(FixtureChannel("Pager", 4242, "Pager", posts=numbered_posts(ids), **channel))
    return model


def item(world: SpiderWorld, message_id: int) -> dict:
    (row,) = world.rows("SELECT * FROM item WHERE message_id = :m", m=message_id)
    return row._asdict()


def media(world: SpiderWorld, message_id: int) -> list[dict]:
    rows = world.rows(
        "SELECT m.* FROM media m JOIN item i ON i.id = m.item_id "
        "WHERE i.message_id = :m ORDER BY m.ordinal",
        m=message_id,
    )
    return [r._asdict() for r in rows]


def links(world: SpiderWorld, message_id: int) -> set[tuple[str, str]]:
    rows = world.rows(
        "SELECT l.kind, l.target FROM link l JOIN item i ON i.id = l.item_id "
        "WHERE i.message_id = :m",
        m=message_id,
    )
    return {(r.kind, r.target) for r in rows}


def test_every_trap_of_the_preview_lands_in_ingest(world_factory) -> None:
    world = world_factory(trap_site_model())
    world.watch("tme_preview", "@traproom")

    result = world.crawl("@traproom")

    assert result.outcome.status == "ok", result.outcome
    traps = trap_posts()
    (source,) = world.rows("SELECT platform_id, username, title, available FROM source")
    assert source == (str(TRAP_CHANNEL_ID), "traproom", "Trap Room", True)
    expected_ids = sorted({i for post in traps.values() for i in post.ids})
    assert [r.message_id for r in world.rows("SELECT message_id FROM item ORDER BY 1")] == (
        expected_ids
    )
    text = item(world, 100)
    assert text["text"] == traps["text"].plain_text
    assert (text["views"], text["views_raw"], text["views_exact"]) == (12500, "12.5K", False)
    # Written with a +03:00 offset; raw SQL gives text on SQLite, a datetime on PostgreSQL.
    assert str(text["posted_at"]).startswith("2024-03-01 12:30")
    assert ("hashtag", "#deepfake") in links(world, 100)
    assert ("external", None) in links(world, 101)  # the hidden link's real href
    assert item(world, 112)["text"] == "caption under photo"  # one wrapper deeper
    reactions = item(world, 123)["reactions"]
    assert (json.loads(reactions) if isinstance(reactions, str) else reactions)["👍"] == 1200
    assert {("invite", "AbCdEf123456"), ("invite", "QwErTy987654")} <= links(world, 101)
    assert item(world, 102)["edited"] and item(world, 102)["author"] == "Admin Kim"
    assert not item(world, 104)["edited"]
    assert item(world, 105)["fwd_username"].lower() == "origin_room"
    assert item(world, 110)["fwd_name"] == "Hidden Person"
    reply = item(world, 111)
    assert (reply["text"], reply["reply_to"]) == ("the answer", 100)
    assert item(world, 125)["is_service"]
    photo = media(world, 112)[0]
    assert photo["hash_status"] == "hashed" and len(photo["pdq"]) == 64 and photo["sha256"]
    video = media(world, 116)[0]
    assert (video["kind"], video["duration"], video["hash_status"]) == ("video", 3723, "hashed")
    assert video["pdq"] and video["sha256"] is None  # poster-frame PDQ; the file is not fetched
    album = item(world, 118)
    assert album["text"] == "album caption" and album["views_raw"] == "3.4K"
    assert item(world, 119)["text"] == "" and [m["kind"] for m in media(world, 119)] == ["video"]
    assert [m["hash_status"] for m in media(world, 120)] == ["hashed"]
    assert world.site.beacon_hits == []
    assert world.site.requests[0].path == "/robots.txt"
    agent = world.site.requests[0].headers["User-Agent"]
    assert agent.startswith("chanwatch/") and "+https://" in agent


def test_a_recrawl_changes_nothing(world_factory) -> None:
    world = world_factory(trap_site_model())
    world.watch("tme_preview", "@traproom")
    world.crawl("@traproom")
    before = world.rows("SELECT id, version_count, text_sha256 FROM item ORDER BY id")
    versions = world.scalar("SELECT count(*) FROM item_version")

    again = world.crawl("@traproom")

    assert again.outcome.status == "ok"
    assert (again.counts.items_new, again.counts.items_updated) == (0, 0)
    assert world.rows("SELECT id, version_count, text_sha256 FROM item ORDER BY id") == before
    assert world.scalar("SELECT count(*) FROM item_version") == versions


def test_a_second_crawl_reads_only_the_newest_page_and_adds_only_new_posts(world_factory) -> None:
    model = pager(list(range(1, 61)))
    world = world_factory(model)
    world.watch("tme_preview", "@pager")
    first = world.crawl("@pager")
    assert (first.outcome.status, first.counts.items_new) == ("ok", 60)
    model.channels["pager"].posts.extend(numbered_posts([61, 62, 63]))
    seen = len(world.site.requests)

    second = world.crawl("@pager")

    assert (second.outcome.status, second.counts.items_new) == ("ok", 3)
    # One page, and no robots.txt: the first run's copy is fresh (kept up to a day).
    assert [r.path_qs for r in world.site.requests[seen:]] == ["/s/pager"]


@pytest.mark.parametrize("markup", [{"rel_prev": False}, {"more_link": False}])
def test_paging_follows_rel_prev_or_data_before_whichever_the_page_has(
    world_factory, markup: dict
) -> None:
    world = world_factory(pager([i for i in range(1, 50) if i % 5], **markup))
    world.watch("tme_preview", "@pager")

    result = world.crawl("@pager")

    assert (result.outcome.status, result.counts.items_new) == ("ok", 40)


def test_a_capped_first_run_is_completed_by_the_next_runs(world_factory) -> None:
    model = pager(list(range(1, 71)))  # four pages of 20
    world = world_factory(model)
    world.spiders = {"max_pages_per_run": 2}
    world.watch("tme_preview", "@pager")

    runs = [world.crawl("@pager") for _ in range(3)]

    assert [r.counts.items_new for r in runs] == [40, 20, 10]
    assert world.scalar("SELECT count(*) FROM item") == 70
    requested = [r.path_qs for r in world.site.requests if r.path.startswith("/s/")]
    # Run 2 re-reads the newest page, then jumps below what run 1 stored; run 3 likewise.
    assert requested == [
        "/s/pager", "/s/pager?before=51",
        "/s/pager", "/s/pager?before=31",
        "/s/pager", "/s/pager?before=11",
    ]  # fmt: skip
    model.channels["pager"].posts.extend(numbered_posts([71]))
    assert world.crawl("@pager").counts.items_new == 1


def test_no_preview_is_a_status_and_a_vanished_preview_marks_the_channel_unavailable(
    world_factory,
) -> None:
    model = pager([1, 2, 3])
    world = world_factory(model)
    world.watch("tme_preview", "@pager")
    world.watch("tme_preview", "@nosuchroom")
    assert world.crawl("@pager").outcome.status == "ok"

    assert world.crawl("@nosuchroom").outcome.status == "no_preview"
    model.channels["pager"] = replace(model.channels["pager"], kind="group")
    gone = world.crawl("@pager")
    assert gone.outcome.status == "no_preview"
    assert world.scalar("SELECT available FROM source WHERE username = 'pager'") in (False, 0)
    model.channels["pager"] = replace(model.channels["pager"], kind="channel")
    assert world.crawl("@pager").outcome.status == "ok"
    assert world.scalar("SELECT available FROM source WHERE username = 'pager'") in (True, 1)
    changes = world.rows("SELECT change FROM source_snapshot ORDER BY id")
    assert [c.change for c in changes][-2:] == ["unavailable", "available"]


def test_message_markup_without_posts_is_parser_stale(world_factory) -> None:
    model = pager([1, 2])
    model.raw_pages["/s/renamed"] = (
        '<section class="tgme_channel_history"><div class="tgme_widget_message_wrap">'
        '<div class="tgme_widget_message" data-post="renamed/xx">new layout</div></div></section>'
    )
    world = world_factory(model)
    world.watch("tme_preview", "@renamed")

    result = world.crawl("@renamed")

    assert result.outcome.status == "parser_stale" and result.outcome.failed
    alerts = world.rows("SELECT kind, severity, evidence FROM alert")
    assert [(a.kind, a.severity) for a in alerts] == [("operational", "high")]


def test_a_429_stops_the_domain_and_the_next_run_waits_for_retry_after(world_factory) -> None:
    model = pager(list(range(1, 61)))
    model.faults.append(throttle("/s/pager", 2, retry_after="3600"))
    world = world_factory(model)
    world.watch("tme_preview", "@pager")

    first = world.crawl("@pager")
    assert first.outcome.status == "rate_limited" and not first.outcome.failed
    seen = len(world.site.requests)
    assert world.crawl("@pager").outcome.status == "rate_limited"
    assert len(world.site.requests) == seen  # not even robots.txt


def test_a_challenge_page_stops_the_domain(world_factory) -> None:
    model = pager(list(range(1, 61)))
    model.faults.append(challenge("/s/pager", 1))
    world = world_factory(model)
    world.watch("tme_preview", "@pager")

    assert world.crawl("@pager").outcome.status == "rate_limited"
    assert [r.path for r in world.site.requests] == ["/robots.txt", "/s/pager"]


@pytest.mark.parametrize("robots", ["error", "disallow"])
def test_robots_txt_disallowing_or_failing_means_nothing_is_fetched(
    world_factory, robots: str
) -> None:
    model = pager([1, 2, 3])
    model.robots = robots  # "error": a 500, which Scrapy alone would treat as "allow all"
    world = world_factory(model)
    world.watch("tme_preview", "@pager")

    result = world.crawl("@pager")

    assert result.outcome.status == "robots_disallowed" and result.outcome.failed
    assert {r.path for r in world.site.requests} == {"/robots.txt"}  # (retried once)


def test_bomb_oversized_and_mislabelled_images_get_a_status_and_the_run_goes_on(
    world_factory, tmp_path
) -> None:
    model = SiteModel()
    model.images.update(
        {
            "/img/bomb.png": bomb_image(),
            "/img/big.png": oversized_image(300_000),
            "/img/liar.jpg": Image(seed=3, content_type="text/plain"),
        }
    )
    posts = numbered_posts([1, 2, 3])
    posts = [
        replace(posts[0], media=Photo("/img/bomb.png")),
        replace(posts[1], media=Photo("/img/big.png")),
        replace(posts[2], media=Photo("/img/liar.jpg")),
    ]
    model.add_channel(FixtureChannel("Pics", 77, "Pics", posts=posts))
    world = world_factory(model)
    world.media = {"max_bytes": 200_000}
    world.watch("tme_preview", "@pics")

    result = world.crawl("@pics")

    assert result.outcome.status == "ok"
    statuses = [media(world, i)[0]["hash_status"] for i in (1, 2, 3)]
    assert statuses == ["undecodable", "too_large", "hashed"]
    assert media(world, 3)[0]["pdq"]
    # No media at rest: the child ran in tmp_path/cwd with TMPDIR tmp_path/tmp; both stay empty.
    assert list((tmp_path / "cwd").iterdir()) == list((tmp_path / "tmp").iterdir()) == []


def test_a_channel_whose_data_view_does_not_decode_is_keyed_by_its_username(
    world_factory,
) -> None:
    world = world_factory(pager([1, 2, 3], data_view_style="broken"))
    world.watch("tme_preview", "@pager")

    assert world.crawl("@pager").outcome.status == "ok"
    assert world.rows("SELECT platform_id, username FROM source") == [(None, "pager")]


def test_the_preview_lands_on_the_api_collectors_items_without_overwriting_exact_views(
    world_factory,
) -> None:
    world = world_factory(trap_site_model())
    source = SourceKey(Platform.TELEGRAM, platform_id=str(TRAP_CHANNEL_ID), username="traproom")
    api_text = "Hello 👋 world\n\nsecond line #deepfake (as the API formats it)"
    ingest(world.engine, [post(100, api_text, source=source, views=Counter(12_345))])
    world.watch("tme_preview", "@traproom")

    assert world.crawl("@traproom").outcome.status == "ok"

    assert world.scalar("SELECT count(*) FROM source") == 1
    row = item(world, 100)
    assert (row["views"], row["views_exact"]) == (12_345, True)
    # The preview renders text differently from the API: never an edit of what the API saw.
    assert row["version_count"] == 1
