"""A fixture site, a database and `crawl_once` wired together for spider tests.

Spiders run exactly as `chanwatch crawl --once` runs them (a child process per target);
the child gets the loopback-only socket guard through PYTHONPATH (child_guard/).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from crawler.crawl import TargetResult, crawl_once
from crawler.settings import Settings
from sandbox.site import FixtureSite, SiteModel
from storage import watchlist_store
from storage.watchlist_store import TargetSpec

CHILD_GUARD = Path(__file__).parent / "child_guard"


def point_cli_at(monkeypatch: pytest.MonkeyPatch, db_url: str, site: FixtureSite) -> None:
    """The environment `chanwatch crawl` needs against the fixture site: no CHANWATCH_*
    setting but the database, the site admitted past the SSRF guard, no download delay."""
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("CHANWATCH_NET__ALLOW_PRIVATE_HOSTS", json.dumps([f"127.0.0.1:{site.port}"]))
    monkeypatch.setenv("CHANWATCH_TELEGRAM__PREVIEW_BASE_URL", site.base_url)
    monkeypatch.setenv("CHANWATCH_SPIDERS__DOWNLOAD_DELAY_S", "0")


@dataclass
class SpiderWorld:
    engine: Engine
    db_url: str
    site: FixtureSite
    spiders: dict[str, Any] = field(default_factory=dict)
    media: dict[str, Any] = field(default_factory=dict)
    allow: list[str] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return Settings(
            database_url=self.db_url,
            telegram={"preview_base_url": self.site.base_url},
            net={"allow_private_hosts": [f"127.0.0.1:{self.site.port}", *self.allow]},
            spiders={"download_delay_s": 0, "max_run_s": 120, **self.spiders},
            media=self.media,
        )

    def watch(self, kind: str, locator: str, **options: Any) -> None:
        with self.engine.begin() as conn:
            watchlist_store.add_target(
                conn, "spiders", TargetSpec(kind, locator, 3600, options=options),
                added_by="test", at=datetime.now(UTC),
            )  # fmt: skip

    def crawl(self, locator: str) -> TargetResult:
        (result,) = asyncio.run(crawl_once(self.engine, self.settings, locator=locator))
        return result

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()


@pytest.fixture
def world_factory(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Any]:
    """Call with a SiteModel to get a SpiderWorld serving it; sites stop after the test."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(CHILD_GUARD), os.environ.get("PYTHONPATH", "")])
    )
    # The child runs in an empty directory with its own TMPDIR, so a test can prove that a
    # crawl leaves no file behind (no media at rest).
    for name in ("cwd", "tmp"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    sites: list[FixtureSite] = []

    def make(model: SiteModel) -> SpiderWorld:
        site = FixtureSite.start_in_thread(model)
        sites.append(site)
        return SpiderWorld(engine, db_url, site)

    yield make
    for site in sites:
        site.stop()
