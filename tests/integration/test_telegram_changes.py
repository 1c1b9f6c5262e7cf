"""What changes between runs: edits, deletions, counters, renames, takedowns, re-created rooms."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from sandbox.telegram_dc import FakeDC, World
from storage import alert_store
from storage.models import Source, SourceSnapshot, Target
from tests.integration.telegram_support import (
    NOW,
    crawl,
    fill,
    items,
    media,
    settings_for,
    statuses,
    watch,
)

pytestmark = pytest.mark.usefixtures("no_real_telegram")


def source_row(engine: Engine, channel_id: int) -> dict:
    with engine.connect() as conn:
        table = Source.__table__
        return dict(
            conn.execute(select(table).where(table.c.platform_id == str(channel_id)))
            .mappings()
            .one()
        )


def changes(engine: Engine, source_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(SourceSnapshot.change)
                .where(SourceSnapshot.source_id == source_id)
                .order_by(SourceSnapshot.id)
            ).scalars()
        )


def test_recheck_finds_edits_deletions_and_fresh_views_without_counting_a_view(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("newsroom", "Newsroom")
    fill(telegram_world, channel, [1, 2, 3, 4, 5])
    telegram_world.set_views(channel, 1, 100)
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session())
    crawl(engine, settings)

    edited_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    telegram_world.edit_message(channel, 2, "post 2 (corrected)", edited_at)
    telegram_world.delete_message(channel, 3)
    telegram_world.set_views(channel, 1, 900)
    [result] = crawl(engine, settings, "@newsroom")

    assert (result.outcome.status, result.counts.items_updated, result.counts.items_gone) == (
        "ok", 1, 1
    )  # fmt: skip
    got = items(engine, channel.id)
    assert (got[2]["text"], got[2]["version_count"], got[2]["edited_at"]) == (
        "post 2 (corrected)", 2, edited_at
    )  # fmt: skip
    assert got[3]["deleted_at"] is not None and got[3]["text"] == "post 3"
    assert got[1]["views"] == 900 and got[4]["version_count"] == 1
    views = threaded_dc.calls("messages.getMessagesViews")
    assert views and all(call.request.increment is False for call in views)
    assert telegram_world.channels[channel.id].messages[1].views == 900
    assert not threaded_dc.calls("channels.joinChannel")


def test_a_rename_keeps_the_source_and_records_the_old_name(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("newsroom", "Newsroom")
    fill(telegram_world, channel, [1])
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session())
    crawl(engine, settings)

    channel.username, channel.title = "newsroom_v2", "Newsroom v2"
    assert statuses(crawl(engine, settings, "@newsroom")) == {"@newsroom": "ok"}

    source = source_row(engine, channel.id)
    assert (source["username"], source["title"]) == ("newsroom_v2", "Newsroom v2")
    assert changes(engine, source["id"]) == ["first", "username,title"]
    assert len(threaded_dc.calls("contacts.resolveUsername")) == 1


def test_a_takedown_is_marked_and_a_return_is_marked_too(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("newsroom", "Newsroom")
    fill(telegram_world, channel, [1, 2])
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session())
    crawl(engine, settings)

    channel.private = True
    [result] = crawl(engine, settings, "@newsroom")
    assert result.outcome.status == "private"
    source = source_row(engine, channel.id)
    assert not source["available"] and source["unavailable_since"] is not None
    assert sorted(items(engine, channel.id)) == [1, 2]

    channel.private = False
    assert statuses(crawl(engine, settings, "@newsroom")) == {"@newsroom": "ok"}
    assert source_row(engine, channel.id)["available"]
    assert changes(engine, source["id"]) == ["first", "unavailable", "available"]


def test_a_room_recreated_under_its_name_is_a_new_source_linked_to_the_old(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    old = telegram_world.add_channel("newsroom", "Newsroom")
    fill(telegram_world, old, [1, 2, 3])
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session())
    crawl(engine, settings)

    telegram_world.remove_channel(old)
    reborn = telegram_world.add_channel("newsroom", "Newsroom (backup)")
    fill(telegram_world, reborn, [1], text="fresh start {}")
    assert statuses(crawl(engine, settings, "@newsroom", matchers=True)) == {"@newsroom": "ok"}

    old_source, new_source = source_row(engine, old.id), source_row(engine, reborn.id)
    assert not old_source["available"]
    assert new_source["previous_source_id"] == old_source["id"]
    assert new_source["username"] == old_source["username"] == "newsroom"
    assert sorted(items(engine, old.id)) == [1, 2, 3]
    assert {i: r["text"] for i, r in items(engine, reborn.id).items()} == {1: "fresh start 1"}
    assert "recreated" in changes(engine, new_source["id"])
    with engine.connect() as conn:
        assert conn.execute(select(Target.source_id)).scalar_one() == new_source["id"]
        changed = alert_store.list_alerts(conn, kind="source_change")
    # Staff hear of it: the watched name now belongs to another room.
    assert {(a["evidence"]["change"], a["subject"]["source_id"]) for a in changed} >= {
        ("username_reused", new_source["id"])
    }

    # Deleted for good: the name is free now, a takedown of the new room.
    telegram_world.remove_channel(reborn)
    assert statuses(crawl(engine, settings, "@newsroom")) == {"@newsroom": "not_found"}
    assert not source_row(engine, reborn.id)["available"]


def test_the_recheck_reuses_stored_hashes_instead_of_downloading_again(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("newsroom", "Newsroom")
    jpeg = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(jpeg, "JPEG")
    telegram_world.add_photo(channel, 1, jpeg.getvalue(), "caption", date=NOW)
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session())
    crawl(engine, settings)
    downloads = len(threaded_dc.calls("upload.getFile"))

    telegram_world.edit_message(channel, 1, "new caption", NOW)
    [result] = crawl(engine, settings, "@newsroom")

    assert len(threaded_dc.calls("upload.getFile")) == downloads
    assert result.counts.items_updated == 1
    [row] = media(engine, channel.id).values()
    assert row["hash_status"] == "hashed" and row["sha256"] is not None
    assert items(engine, channel.id)[1]["version_count"] == 2
