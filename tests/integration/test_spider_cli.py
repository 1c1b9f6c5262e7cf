"""`chanwatch crawl --once` runs t.me/s and web-page targets, with the foundation's exit codes."""

from __future__ import annotations

import pytest

from crawler.cli.main import run
from sandbox.site import FixtureSite, WebPage
from sandbox.site.traps import trap_site_model
from tests.integration.spider_world import point_cli_at, world_factory

__all__ = ["world_factory"]


def test_crawl_once_runs_preview_and_page_targets_and_exits_1_when_one_fails(
    world_factory, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    model = trap_site_model()
    model.pages["/hub"] = WebPage(title="hub", paragraphs=("rooms",))
    model.raw_pages["/s/renamed"] = '<div class="tgme_widget_message" data-post="renamed/x"></div>'
    site: FixtureSite = world_factory(model).site
    point_cli_at(monkeypatch, db_url, site)

    assert run(["watchlist", "add", "https://t.me/s/TrapRoom"]) == 0
    assert run(["watchlist", "add", site.url("/hub"), "--kind", "web_page"]) == 0
    capsys.readouterr()
    assert run(["crawl", "--once"]) == 0
    out = capsys.readouterr().out
    assert "@traproom" in out and "/hub" in out and out.count(" ok ") >= 2, out

    assert run(["watchlist", "add", "https://t.me/s/renamed"]) == 0
    capsys.readouterr()
    assert run(["crawl", "--once", "--target", "https://t.me/s/renamed"]) == 1
    assert "parser_stale" in capsys.readouterr().out
