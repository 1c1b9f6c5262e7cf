"""History collection with the real Telethon client against the fake DC, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from sandbox.telegram_dc import FakeDC, World
from storage.models import CrawlRun, TelegramAccount
from storage.models.operations import TelegramCursor
from tests.integration.telegram_support import (
    NOW,
    crawl,
    fill,
    items,
    settings_for,
    statuses,
    watch,
)

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


def test_first_run_backfills_the_limit_and_later_runs_continue_both_ways(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("newsroom", "Newsroom")
    fill(telegram_world, channel, list(range(1, 351)))
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session(), backfill_limit=120)

    crawl(engine, settings, "@newsroom")
    assert sorted(items(engine, channel.id)) == list(range(231, 351))

    fill(telegram_world, channel, [351, 352])
    crawl(engine, settings, "@newsroom")
    assert sorted(items(engine, channel.id)) == list(range(111, 353))

    for _ in range(2):
        crawl(engine, settings, "@newsroom")
    assert sorted(items(engine, channel.id)) == list(range(1, 353))
    with engine.connect() as conn:
        cursor = conn.execute(select(TelegramCursor.__table__)).mappings().one()
    assert (cursor["newest_id"], cursor["oldest_id"], cursor["history_complete"]) == (352, 1, True)
    # Resolved on the first run only; later runs use the stored (id, access_hash).
    assert len(threaded_dc.calls("contacts.resolveUsername")) == 1


def test_flood_in_the_middle_defers_then_resumes_without_gaps_or_restart(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("newsroom", "Newsroom")
    ids = list(range(1, 451))
    fill(telegram_world, channel, ids)
    # Call 1 finds the backfill start, calls 2-3 are pages; the 4th page floods for an hour.
    telegram_world.schedule_error("messages.getHistory", "FLOOD_WAIT_3600", nth=4, channel=channel)
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session())

    [first] = crawl(engine, settings)
    assert first.outcome.status == "deferred" and "FLOOD_WAIT" in (first.outcome.message or "")
    assert sorted(items(engine, channel.id)) == list(range(1, 201))
    with engine.connect() as conn:
        [flood_until] = conn.execute(select(TelegramAccount.flood_until)).scalars()
    assert flood_until is not None and flood_until > NOW

    # While the account waits, the target is deferred without touching Telegram.
    calls_before = len(threaded_dc.calls())
    assert statuses(crawl(engine, settings, "@newsroom")) == {"@newsroom": "deferred"}
    assert len(threaded_dc.calls()) == calls_before

    with engine.begin() as conn:
        conn.execute(TelegramAccount.__table__.update().values(flood_until=None))
    assert statuses(crawl(engine, settings, "@newsroom")) == {"@newsroom": "ok"}

    got = items(engine, channel.id)
    assert sorted(got) == ids and all(row["version_count"] == 1 for row in got.values())
    resumed = threaded_dc.calls("messages.getHistory", channel_id=channel.id)[4:]
    assert resumed[0].request.min_id == 200  # from the cursor, not from the top
    with engine.connect() as conn:
        runs = conn.execute(select(CrawlRun.status, CrawlRun.items_new)).all()
    assert sorted(runs) == [("deferred", 0), ("deferred", 200), ("ok", 250)]


def test_a_flooded_account_does_not_stop_the_others(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    first = telegram_world.add_channel("first_room", "First")
    second = telegram_world.add_channel("second_room", "Second")
    fill(telegram_world, first, [1, 2, 3])
    fill(telegram_world, second, [1, 2])
    telegram_world.schedule_error("channels.getFullChannel", "FLOOD_WAIT_600", channel=first)
    watch(engine, "first_room", "second_room")
    one, two = threaded_dc.string_session(), threaded_dc.string_session()
    settings = settings_for(db_url, one, two)

    assert statuses(crawl(engine, settings)) == {
        "@first_room": "deferred",
        "@second_room": "ok",
    }
    assert sorted(items(engine, second.id)) == [1, 2]
    with engine.connect() as conn:
        accounts: dict[str, Any] = dict(
            conn.execute(select(TelegramAccount.name, TelegramAccount.flood_until)).all()
        )
        used = conn.execute(select(CrawlRun.account).order_by(CrawlRun.id)).scalars().all()
    assert accounts["acct1"] is not None and accounts["acct2"] is None
    assert used == ["acct1", "acct2"]


def test_resolutions_stop_at_the_daily_budget(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    for name in ("room_one", "room_two"):
        fill(telegram_world, telegram_world.add_channel(name), [1])
    watch(engine, "room_one", "room_two")
    settings = settings_for(db_url, threaded_dc.string_session(), resolve_budget=1)

    results = crawl(engine, settings)

    assert statuses(results) == {"@room_one": "ok", "@room_two": "deferred"}
    assert "resolves today" in (results[1].outcome.message or "")
    assert len(threaded_dc.calls("contacts.resolveUsername")) == 1


def test_a_signed_out_session_is_an_error_and_the_account_is_marked(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    fill(telegram_world, telegram_world.add_channel("newsroom"), [1])
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session(authorized=False))

    [result] = crawl(engine, settings)

    assert result.outcome.status == "error" and "not authorized" in (result.outcome.message or "")
    with engine.connect() as conn:
        assert conn.execute(select(TelegramAccount.status)).scalar_one() == "unauthorized"
    # Until someone logs in again, the account is skipped without connecting.
    calls = len(threaded_dc.calls())
    assert statuses(crawl(engine, settings, "@newsroom")) == {"@newsroom": "deferred"}
    assert len(threaded_dc.calls()) == calls
