"""Every kind of media a room posts, through the real Telethon client and the fake DC: stickers,
polls, places, contacts, dice, link previews, voice, audio and round videos."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import Engine, select
from telethon.tl import types

from crawler.hashing.keyed import keyed_value_hash
from crawler.settings import Settings
from sandbox.telegram_dc import FakeDC, World
from storage.models import Link
from tests.integration.telegram_support import crawl, items, media, settings_for, watch

pytestmark = pytest.mark.usefixtures("no_real_telegram")

DOXX_KEY = "test-installation-key-0123456789"
STICKER_SET = types.InputStickerSetEmpty()


def picture(seed: int, fmt: str) -> bytes:
    """A small picture with structure (PDQ needs some), encoded as `fmt`."""
    image = Image.new("RGB", (128, 128), (seed * 40 % 256, 90, 160))
    for x in range(0, 128, 16):
        image.paste((255, (x * seed) % 256, 0), (x, x // 2, x + 8, 128 - x // 3))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def with_key(settings: Settings) -> Settings:
    media = settings.media.model_copy(update={"doxx_key": SecretStr(DOXX_KEY)})
    return settings.model_copy(update={"media": media})


def poll(question: str, *options: str) -> types.MessageMediaPoll:
    answers = [
        types.PollAnswer(types.TextWithEntities(text, []), bytes([n]))
        for n, text in enumerate(options)
    ]
    return types.MessageMediaPoll(
        types.Poll(id=7, question=types.TextWithEntities(question, []), answers=answers, hash=0),
        types.PollResults(),
    )


def web_page(world: World, url: str, jpeg: bytes) -> types.MessageMediaWebPage:
    """A link preview whose picture the fake DC serves like a photo's largest size."""
    photo_id = world.next_id()
    world.files[("photo", photo_id, "y")] = jpeg
    photo = types.Photo(
        id=photo_id, access_hash=photo_id * 31, file_reference=b"ref", date=None,
        sizes=[types.PhotoSize("y", 128, 128, len(jpeg))], dc_id=world.dc_id,
    )  # fmt: skip
    page = types.WebPage(
        id=world.next_id(), url=url, display_url=url, hash=0, type="article",
        site_name="News", title="Title", photo=photo,
    )  # fmt: skip
    return types.MessageMediaWebPage(webpage=page)


def test_every_kind_is_recorded_and_hashed_and_no_bytes_stay(
    engine: Engine,
    db_url: str,
    telegram_world: World,
    threaded_dc: FakeDC,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = telegram_world
    room = world.add_channel("kinds_room", "Kinds")
    webp, thumb, jpeg = picture(1, "WEBP"), picture(2, "WEBP"), picture(3, "JPEG")
    tgs = gzip.compress(b'{"v":"5.5.2","fr":60,"layers":[]}')
    webm, ogg, mp3, round_mp4 = (os.urandom(n) for n in (3000, 2500, 9000, 4000))
    sticker = types.DocumentAttributeSticker(alt="😀", stickerset=STICKER_SET)
    size = types.DocumentAttributeImageSize(512, 512)
    world.add_document(room, 1, webp, "image/webp", attributes=[sticker, size])
    world.add_document(
        room, 2, tgs, "application/x-tgsticker", attributes=[size, sticker], thumb=thumb
    )
    video_attr = types.DocumentAttributeVideo(duration=3, w=512, h=512)
    world.add_document(room, 3, webm, "video/webm", attributes=[video_attr, sticker])
    world.add_message(room, 4, media=poll("오늘 어느 방?", "겹지인방", "다른 방"))
    world.add_message(room, 5, media=types.MessageMediaGeo(types.GeoPoint(126.97805, 37.56649, 1)))
    world.add_message(room, 6, media=types.MessageMediaContact("+82 10-1234-5678", "A", "B", "", 0))
    world.add_message(room, 7, media=types.MessageMediaDice(4, "🎲"))
    world.add_message(room, 8, "see", media=web_page(world, "https://news.example/a", jpeg))
    voice = types.DocumentAttributeAudio(duration=7, voice=True)
    world.add_document(room, 9, ogg, "audio/ogg", attributes=[voice])
    song = types.DocumentAttributeAudio(duration=200, title="Song", performer="Band")
    world.add_document(room, 10, mp3, "audio/mpeg", attributes=[song])
    round_attr = types.DocumentAttributeVideo(duration=12, w=384, h=384, round_message=True)
    world.add_document(room, 11, round_mp4, "video/mp4", attributes=[round_attr], thumb=jpeg)
    venue = types.MessageMediaVenue(
        types.GeoPoint(126.9781, 37.5665, 2), "Home", "Secret street 1", "", "", ""
    )
    world.add_message(room, 12, media=venue)
    watch(engine, "kinds_room")
    private_tmp, work = tmp_path / "tmp", tmp_path / "work"
    private_tmp.mkdir()
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.chdir(work)

    [result] = crawl(engine, settings_for(db_url, threaded_dc.string_session()))

    assert result.outcome.status == "ok"
    stored = media(engine, room.id)
    sha = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    row = lambda key, *names: tuple(stored[key][n] for n in names)  # noqa: E731
    # A static sticker is a picture: its own bytes, with a PDQ.
    assert row((1, 0), "kind", "mime", "sha256", "hash_status") == (
        "sticker", "image/webp", sha(webp), "hashed"
    )  # fmt: skip
    assert len(stored[1, 0]["pdq"]) == 64
    # Animated and video stickers: the file's digests, and a PDQ through the thumbnail.
    assert row((2, 0), "kind", "sha256", "pdq") == ("sticker", sha(tgs), None)
    assert row((2, 1), "kind", "sha256") == ("thumbnail", sha(thumb))
    assert len(stored[2, 1]["pdq"]) == 64
    assert row((3, 0), "kind", "mime", "sha256") == ("sticker", "video/webm", sha(webm))
    assert (3, 1) not in stored  # no thumbnail to hash: the kind is recorded all the same
    assert row((4, 0), "kind", "hash_status") == ("poll", "no_file")
    assert row((7, 0), "kind", "hash_status") == ("dice", "no_file")
    assert row((8, 0), "kind", "sha256") == ("link_preview", sha(jpeg))
    assert len(stored[8, 0]["pdq"]) == 64
    assert row((9, 0), "kind", "duration", "size", "sha256") == ("voice", 7.0, 2500, sha(ogg))
    assert row((10, 0), "kind", "duration", "sha256") == ("audio", 200.0, sha(mp3))
    assert row((11, 0), "kind", "duration", "sha256") == ("video_note", 12.0, sha(round_mp4))
    assert row((11, 1), "kind", "sha256") == ("video_thumbnail", sha(jpeg))
    # Without a key a contact or a place is its kind, and says why there is no hash.
    for key, kind in (((5, 0), "location"), ((6, 0), "contact"), ((12, 0), "venue")):
        assert row(key, "kind", "sha256", "hash_status") == (kind, None, "no_key")
    got = items(engine, room.id)
    assert got[4]["text"] == "오늘 어느 방?\n겹지인방\n다른 방"  # what the keyword matchers read
    # Nothing of a doxxed detail is kept anywhere in the item, and no file went to disk.
    dumped = repr([got[5], got[6], got[12], stored[5, 0], stored[6, 0], stored[12, 0]])
    for detail in ("1234", "5678", "37.56", "126.97", "Secret street", "Home"):
        assert detail not in dumped
    assert list(private_tmp.rglob("*")) == [] and list(work.rglob("*")) == []


def test_the_same_doxxed_number_and_place_hash_alike_across_rooms(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    world = telegram_world
    first, second = world.add_channel("room_one", "One"), world.add_channel("room_two", "Two")
    # Spelled differently, the same number; a pin ~20 m away, the same place.
    world.add_message(first, 1, media=types.MessageMediaContact("+82 10-1234-5678", "A", "", "", 0))
    world.add_message(second, 1, media=types.MessageMediaContact("821012345678", "B", "", "", 0))
    world.add_message(first, 2, media=types.MessageMediaGeo(types.GeoPoint(126.97805, 37.5671, 1)))
    live = types.MessageMediaGeoLive(types.GeoPoint(126.97812, 37.56688, 1), period=900)
    world.add_message(second, 2, media=live)
    world.add_message(second, 3, media=types.MessageMediaContact("+1 415 555 0123", "C", "", "", 0))
    watch(engine, "room_one", "room_two")

    crawl(engine, with_key(settings_for(db_url, threaded_dc.string_session())))

    one, two = media(engine, first.id), media(engine, second.id)
    key = DOXX_KEY.encode()
    phone = keyed_value_hash(key, "tel:821012345678")
    place = keyed_value_hash(key, "geo:37.567,126.978")
    assert (one[1, 0]["sha256"], two[1, 0]["sha256"]) == (phone, phone)
    assert (one[2, 0]["sha256"], two[2, 0]["sha256"]) == (place, place)
    assert (one[2, 0]["kind"], two[2, 0]["kind"]) == ("location", "live_location")
    assert two[3, 0]["sha256"] not in (phone, None)
    assert {row["hash_status"] for row in (*one.values(), *two.values())} == {"hashed"}
    # Found across rooms by the hash, as an investigator would look it up.
    assert phone != hashlib.sha256(b"tel:821012345678").hexdigest()


def links_of(engine: Engine, item_id: int) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Link.url, Link.kind, Link.target)
            .where(Link.item_id == item_id)
            .order_by(Link.ordinal)
        ).all()
    return [tuple(r) for r in rows]


def test_a_room_named_by_mention_and_button_is_one_link(
    engine: Engine, db_url: str, telegram_world: World, threaded_dc: FakeDC
) -> None:
    room = telegram_world.add_channel("hub_room", "Hub")
    text = "백업 @Backup_Room 여기"
    offset = len(text[: text.index("@")].encode("utf-16-le")) // 2
    buttons = types.ReplyInlineMarkup(
        rows=[
            types.KeyboardInlineButtonRow(
                buttons=[
                    types.KeyboardInlineButton(
                        "join", types.InlineButtonTypeUrl("https://t.me/Backup_Room")
                    ),
                    types.KeyboardInlineButton(
                        "invite", types.InlineButtonTypeUrl("https://t.me/+Inv1te")
                    ),
                ]
            )
        ]
    )
    telegram_world.add_message(
        room, 1, text, entities=[types.MessageEntityMention(offset, 12)], reply_markup=buttons
    )
    watch(engine, "hub_room")

    crawl(engine, settings_for(db_url, threaded_dc.string_session()))

    assert links_of(engine, items(engine, room.id)[1]["id"]) == [
        ("https://t.me/backup_room", "mention", "backup_room"),
        ("https://t.me/+Inv1te", "invite", "Inv1te"),
    ]
