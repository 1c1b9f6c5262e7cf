"""End to end through a real collector: `chanwatch crawl --once` runs the t.me/s spider (in its
own process) against the loopback fixture site, and its posts raise alerts through ingest."""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from crawler.cli.main import run
from crawler.crawl import crawl_once
from crawler.hashing.media import hash_media_bytes
from crawler.matching.pipeline import build_matchers
from sandbox.site import FixtureSite
from sandbox.site.model import FixtureChannel, FixturePost, SiteModel
from sandbox.telegram_dc import FakeDC, World
from tests.factories import GOLDEN
from tests.integration.alert_helpers import alerts, load_bank, load_rules, watch
from tests.integration.spider_world import point_cli_at, world_factory
from tests.integration.telegram_support import settings_for

__all__ = ["world_factory"]

NOW = datetime.now(UTC)

RULES = """
rules:
  - name: acquaintance-rooms
    severity: critical
    terms: [지인능욕]
"""


def test_a_preview_post_raises_a_keyword_alert_once_across_crawls(
    world_factory, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    posts = [FixturePost(id=5, text=("새 방 지.인.능.욕 링크",)), FixturePost(id=6, text=("글",))]
    model = SiteModel()
    model.add_channel(
        FixtureChannel(name="RoomAlpha", channel_id=1777000111, title="Alpha", posts=posts)
    )
    site: FixtureSite = world_factory(model).site
    point_cli_at(monkeypatch, db_url, site)
    with open("rules.yaml", "w", encoding="utf-8") as fh:
        fh.write(RULES)
    assert run(["rules", "import", "rules.yaml"]) == 0
    assert run(["watchlist", "add", "https://t.me/s/RoomAlpha"]) == 0

    for _ in range(2):
        assert run(["crawl", "--once", "--target", "https://t.me/s/RoomAlpha"]) == 0
    capsys.readouterr()
    assert run(["alerts", "list", "--format", "json"]) == 0
    (alert,) = json.loads(capsys.readouterr().out)
    assert (alert["kind"], alert["severity"], alert["hit_count"]) == ("keyword", "critical", 1)
    assert alert["subject"]["source"] == "@roomalpha"
    assert alert["evidence"]["hits"][0]["matched_text"] == "지.인.능.욕"


@pytest.mark.usefixtures("no_real_telegram")
def test_api_collector_posts_raise_hash_and_keyword_alerts_once(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    with (GOLDEN / "reference_hashes.csv").open(newline="") as handle:
        reference = {row["file"]: row["pdq_hex"] for row in csv.DictReader(handle)}
    load_rules(engine, RULES)
    load_bank(engine, f"pdq,{reference['bridge-mods/aaa-orig.jpg']},case-1\n", severity="critical")
    channel = telegram_world.add_channel("room_beta", "Beta")
    telegram_world.add_photo(channel, 1, (GOLDEN / "bridge-mods/aaa-orig.jpg").read_bytes())
    telegram_world.add_message(channel, 2, "겹지인 말고 지인능욕 방", date=NOW - timedelta(hours=1))
    watch(engine, "@room_beta")
    settings = settings_for(db_url, threaded_dc.string_session())
    matchers = build_matchers(engine, settings)

    for _ in range(2):
        asyncio.run(crawl_once(engine, settings, locator="@room_beta", matchers=matchers))

    found = {a["kind"]: a for a in alerts(engine)}
    assert set(found) == {"hash_match", "keyword"}
    match = found["hash_match"]["evidence"]
    assert (match["bank"], match["label"], match["signal_type"]) == ("known", "case-1", "pdq")
    assert match["distance"] <= 2
    assert all(a["hit_count"] == 1 for a in found.values())


@pytest.mark.usefixtures("no_real_telegram")
def test_a_rotated_copy_collected_through_the_api_matches_the_banked_original(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    original = hash_media_bytes(
        (GOLDEN / "dihedral" / "bridge-1-original.jpg").read_bytes(), kind="photo", mime=None,
        max_bytes=1 << 25,
    )  # fmt: skip
    load_bank(engine, f"pdq,{original.pdq},case-2\n")
    channel = telegram_world.add_channel("room_gamma", "Gamma")
    rotated = (GOLDEN / "dihedral" / "bridge-4-rotate-270.jpg").read_bytes()
    telegram_world.add_photo(channel, 1, rotated, date=NOW - timedelta(hours=1))
    watch(engine, "@room_gamma")
    settings = settings_for(db_url, threaded_dc.string_session())

    matchers = build_matchers(engine, settings)
    asyncio.run(crawl_once(engine, settings, locator="@room_gamma", matchers=matchers))

    (alert,) = alerts(engine, kind="hash_match")
    evidence = alert["evidence"]
    assert (evidence["label"], evidence["orientation"]) == ("case-2", "rotate_90")
    assert evidence["distance"] <= 31
