"""End to end through a real collector: `chanwatch crawl --once` runs the t.me/s spider (in its
own process) against the loopback fixture site, and its posts raise alerts through ingest."""

from __future__ import annotations

import json
import os

import pytest

from crawler.cli.main import run
from tests.fixture_site import FixtureSite
from tests.fixture_site.model import FixtureChannel, FixturePost, SiteModel
from tests.integration.spider_world import world_factory

__all__ = ["world_factory"]

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
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("CHANWATCH_NET__ALLOW_PRIVATE_HOSTS", json.dumps([f"127.0.0.1:{site.port}"]))
    monkeypatch.setenv("CHANWATCH_TELEGRAM__PREVIEW_BASE_URL", site.base_url)
    monkeypatch.setenv("CHANWATCH_SPIDERS__DOWNLOAD_DELAY_S", "0")
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
