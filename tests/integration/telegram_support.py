"""Shared set-up for the Telegram collector tests: settings, targets, a crawl, what was stored."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

from sqlalchemy import Engine, select

from crawler.crawl import TargetResult, crawl_once, default_matchers
from crawler.settings import Settings
from sandbox.telegram_dc import World
from sandbox.telegram_dc.errors import ErrorRule
from storage.models import Item, Media, Source
from storage.watchlist_store import TargetSpec, add_target

API_HASH = "0123456789abcdef0123456789abcdef"
T0 = dt.datetime(2024, 8, 26, tzinfo=dt.UTC)
NOW = dt.datetime.now(dt.UTC)


def settings_for(db_url: str, *sessions: str, **telegram: Any) -> Settings:
    accounts = [{"name": f"acct{i}", "session": s} for i, s in enumerate(sessions, 1)]
    return Settings(
        database_url=db_url,
        telegram={"api_id": 12345, "api_hash": API_HASH, "accounts": accounts, **telegram},
    )


def watch(engine: Engine, *usernames: str) -> None:
    with engine.begin() as conn:
        for name in usernames:
            spec = TargetSpec(kind="telegram", locator=f"@{name}", interval_s=60)
            add_target(conn, "rooms", spec, added_by="test", at=dt.datetime.now(dt.UTC))


def crawl(
    engine: Engine, settings: Settings, locator: str | None = None, *, matchers: bool = False
) -> list[TargetResult]:
    """One pass; with a locator that target runs whether due or not; with ``matchers``, the
    alert matchers run in ingest as in `chanwatch crawl`."""
    run = default_matchers(engine, settings) if matchers else ()
    return asyncio.run(crawl_once(engine, settings, locator=locator, matchers=run))


def statuses(results: list[TargetResult]) -> dict[str, str]:
    return {r.target.locator: r.outcome.status for r in results}


def items(engine: Engine, channel_id: int) -> dict[int, dict[str, Any]]:
    """Items of a channel by message id."""
    with engine.connect() as conn:
        source_id = conn.execute(
            select(Source.id).where(Source.platform_id == str(channel_id))
        ).scalar_one()
        table = Item.__table__
        rows = conn.execute(select(table).where(table.c.source_id == source_id)).mappings()
        return {row["message_id"]: dict(row) for row in rows}


def media(engine: Engine, channel_id: int) -> dict[tuple[int, int], dict[str, Any]]:
    """Media rows of a channel by (message id, ordinal)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Item.message_id, Media.__table__)
            .join(Media, Media.item_id == Item.id)
            .join(Source, Source.id == Item.source_id)
            .where(Source.platform_id == str(channel_id))
        ).mappings()
        return {(row["message_id"], row["ordinal"]): dict(row) for row in rows}


def fill(world: Any, channel: Any, ids: list[int], *, text: str = "post {}") -> None:
    for msg_id in ids:
        world.add_message(channel, msg_id, text.format(msg_id), date=NOW - dt.timedelta(hours=1))


class PausingWorld(World):
    """Holds the `pause_at`-th messages.getHistory call (on `channel_id` only, once set) until
    `release` is set or `timeout` passes; the whole fake DC waits meanwhile, so a collector is
    caught mid-run for as long as a test needs."""

    def __init__(self, pause_at: int, *, timeout: float = 60) -> None:
        super().__init__()
        self.pause_at, self.seen, self.timeout = pause_at, 0, timeout
        self.channel_id: int | None = None
        self.paused, self.release = threading.Event(), threading.Event()

    def scheduled_error(
        self, method: str, channel_id: int | None, username: str | None
    ) -> ErrorRule | None:
        if method == "messages.getHistory" and self.channel_id in (None, channel_id):
            self.seen += 1
            if self.seen == self.pause_at:
                self.paused.set()
                self.release.wait(timeout=self.timeout)
        return super().scheduled_error(method, channel_id, username)
