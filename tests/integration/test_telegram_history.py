"""History collection with the real Telethon client against the fake DC, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from storage.models import CrawlRun, TelegramAccount
from storage.models.operations import TelegramCursor
from tests.integration.telegram_support import crawl, fill, items, settings_for, statuses, watch
from tests.telegram_dc import FakeDC, World

pytestmark = pytest.mark.usefixtures("no_real_telegram")


def test_pages_over_id_holes_collect_every_message_once(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    ids = [i for i in range(1, 400) if i % 7 and i not in range(150, 190)]
    channel = telegram_world.add_channel("newsroom", "Newsroom")
    fill(telegram_world, channel, ids)
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session())

    assert statuses(crawl(engine, settings)) == {"@newsroom": "ok"}

    got = items(engine, channel.id)
    assert sorted(got) == ids
    assert all(row["text"] == f"post {i}" and row["version_count"] == 1 for i, row in got.items())
    histories = threaded_dc.calls("messages.getHistory", channel_id=channel.id)
    assert all(call.request.limit <= 100 for call in histories)
    assert len(threaded_dc.calls("contacts.resolveUsername")) == 1
