"""What a post carries after a crawl: albums, forwards, links, counters, media hashes."""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from telethon.tl import types

from crawler.hashing.images import hamming_distance
from sandbox.telegram_dc import FakeDC, World
from storage.models import Link, Source
from tests.factories import GOLDEN
from tests.integration.telegram_support import (
    crawl,
    items,
    media,
    settings_for,
    watch,
)

pytestmark = pytest.mark.usefixtures("no_real_telegram")



def golden(name: str) -> tuple[bytes, str]:
    with (GOLDEN / "reference_hashes.csv").open(newline="") as handle:
        reference = {row["file"]: row["pdq_hex"] for row in csv.DictReader(handle)}
    return (GOLDEN / name).read_bytes(), reference[name]


def span(text: str, part: str) -> tuple[int, int]:
    """Offset and length of `part` in UTF-16 code units, as Telegram counts them."""
    before = text[: text.index(part)]
    return len(before.encode("utf-16-le")) // 2, len(part.encode("utf-16-le")) // 2


def test_albums_forwards_links_counters_and_service_messages(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    world = telegram_world
    channel = world.add_channel("newsroom", "Newsroom")
    origin = world.add_channel("origin_room", "Origin")
    world.add_service(channel, 1, types.MessageActionChannelCreate("Newsroom"))
    text = "이 방 click here t.me/other_room @Mirror_Room #합성 🔥 end"
    entities = [
        types.MessageEntityTextUrl(*span(text, "click here"), url="https://t.me/+HiddenInvite1"),
        types.MessageEntityUrl(*span(text, "t.me/other_room")),
        types.MessageEntityMention(*span(text, "@Mirror_Room")),
        types.MessageEntityHashtag(*span(text, "#합성")),
        # After the emoji (two UTF-16 units) Telegram's offsets and Python's differ.
        types.MessageEntityTextUrl(*span(text, "end"), url="https://example.org/x"),
    ]
    world.add_message(
        channel, 2, text, entities=entities, views=1500, forwards=7, post_author="admin",
        replies=types.MessageReplies(replies=3, replies_pts=1),
        reactions=types.MessageReactions(
            results=[types.ReactionCount(types.ReactionEmoji("🔥"), 5),
                     types.ReactionCount(types.ReactionCustomEmoji(42), 2)]
        ),
        fwd_from=types.MessageFwdHeader(
            date=world.channels[channel.id].date, from_id=types.PeerChannel(origin.id),
            channel_post=77,
        ),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=1),
    )  # fmt: skip
    world.add_photo(channel, 3, b"\xff\xd8 first", "album", grouped_id=99)
    world.add_photo(channel, 4, b"\xff\xd8 second", grouped_id=99)
    watch(engine, "newsroom")

    crawl(engine, settings_for(db_url, threaded_dc.string_session()))

    got = items(engine, channel.id)
    assert got[1]["is_service"] and got[1]["text"] == "Newsroom"
    post = got[2]
    assert (post["views"], post["views_exact"], post["forwards"], post["replies"]) == (
        1500, True, 7, 3
    )  # fmt: skip
    assert post["reactions"] == {"🔥": 5, "custom:42": 2}
    assert (post["author"], post["reply_to"]) == ("admin", 1)
    assert (post["fwd_source_id"], post["fwd_message_id"]) == (str(origin.id), 77)
    assert post["url"] == "https://t.me/newsroom/2"
    assert got[3]["grouped_id"] == got[4]["grouped_id"] == 99
    with engine.connect() as conn:
        links = conn.execute(
            select(Link.url, Link.kind, Link.target)
            .where(Link.item_id == post["id"])
            .order_by(Link.ordinal)
        ).all()
    assert [tuple(link) for link in links] == [
        ("https://t.me/+HiddenInvite1", "invite", "HiddenInvite1"),
        ("t.me/other_room", "channel", "other_room"),
        ("https://t.me/mirror_room", "mention", "mirror_room"),
        ("#합성", "hashtag", "#합성"),
        ("https://example.org/x", "external", None),
    ]
    with engine.connect() as conn:
        source = (
            conn.execute(select(Source.__table__).where(Source.platform_id == str(channel.id)))
            .mappings()
            .one()
        )
    assert (source["username"], source["title"]) == ("newsroom", "Newsroom")


def test_media_hashes_are_those_of_the_served_bytes_and_nothing_is_written(
    engine: Engine,
    db_url: str,
    telegram_world: World,
    threaded_dc: FakeDC,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = telegram_world
    channel = world.add_channel("newsroom", "Newsroom")
    jpeg, reference_pdq = golden("bridge-mods/aaa-orig.jpg")
    video = os.urandom(700 * 1024 + 123)
    thumb, _ = golden("bridge-mods/aaa-orig.jpg")
    too_big = os.urandom(1536 * 1024)
    world.add_photo(channel, 1, jpeg, "golden photo")
    world.add_video(channel, 2, video, duration=12.5, thumb=thumb)
    world.add_document(channel, 3, jpeg, "image/jpeg", "as a file")
    world.add_video(channel, 4, too_big)
    watch(engine, "newsroom")
    private_tmp, work = tmp_path / "tmp", tmp_path / "work"
    private_tmp.mkdir()
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.chdir(work)
    settings = settings_for(db_url, threaded_dc.string_session(), video_max_bytes=1024 * 1024)

    [result] = crawl(engine, settings)

    assert result.outcome.status == "ok" and result.counts.media_hashed == 4
    stored = media(engine, channel.id)
    sha, md5 = hashlib.sha256, hashlib.md5
    photo = stored[1, 0]
    assert (photo["kind"], photo["sha256"], photo["md5"]) == (
        "photo", sha(jpeg).hexdigest(), md5(jpeg).hexdigest()
    )  # fmt: skip
    assert hamming_distance(photo["pdq"], reference_pdq) <= 2
    assert stored[2, 0]["kind"] == "video" and stored[2, 0]["duration"] == 12.5
    assert stored[2, 0]["sha256"] == sha(video).hexdigest() and stored[2, 0]["pdq"] is None
    assert stored[2, 1]["kind"] == "video_thumbnail"
    assert hamming_distance(stored[2, 1]["pdq"], reference_pdq) <= 2
    assert (stored[3, 0]["kind"], stored[3, 0]["sha256"]) == ("image", sha(jpeg).hexdigest())
    assert stored[4, 0]["hash_status"] == "too_large" and stored[4, 0]["sha256"] is None
    # The oversized video was never fetched; the rest in parts, none of them to disk.
    oversized = [
        c
        for c in threaded_dc.calls("upload.getFile")
        if c.request.location.id == world.channels[channel.id].messages[4].media.document.id
    ]
    assert oversized == []
    assert list(private_tmp.rglob("*")) == [] and list(work.rglob("*")) == []


def test_nonexistent_username_gets_a_clear_status(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    watch(engine, "nobody_here")
    [result] = crawl(engine, settings_for(db_url, threaded_dc.string_session()))
    assert result.outcome.status == "not_found"
    assert "@nobody_here" in (result.outcome.message or "")


def test_with_hashing_off_media_keep_their_metadata_and_nothing_is_fetched(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("newsroom", "Newsroom")
    telegram_world.add_photo(channel, 1, b"\xff\xd8 photo", size=(800, 600))
    watch(engine, "newsroom")
    settings = settings_for(db_url, threaded_dc.string_session())
    settings = settings.model_copy(
        update={"media": settings.media.model_copy(update={"hash_media": False})}
    )

    crawl(engine, settings)

    photo = media(engine, channel.id)[1, 0]
    assert (photo["hash_status"], photo["sha256"]) == ("policy_off", None)
    assert (photo["kind"], photo["width"], photo["height"]) == ("photo", 800, 600)
    assert threaded_dc.calls("upload.getFile") == []
