"""Telethon TL objects to observations: real TL types in, no client, no network."""

from __future__ import annotations

import datetime as dt

import pytest
from telethon.tl import types

from crawler.hashing.keyed import keyed_value_hash, normalize_phone, normalize_place
from crawler.observations import HashStatus, Link, LinkKind
from crawler.telegram.parse import (
    channel_snapshot,
    message_links,
    parse_message,
    source_key,
    utf16_slice,
)
from crawler.tme_links import classify_url, one_per_target

T0 = dt.datetime(2024, 8, 26, 12, tzinfo=dt.UTC)
SOURCE = source_key(1001, "Room_Name")


def message(msg_id: int = 5, text: str = "", **fields: object) -> types.Message:
    return types.Message(
        id=msg_id, peer_id=types.PeerChannel(1001), date=T0, message=text, **fields
    )


def span(text: str, part: str) -> tuple[int, int]:
    before = text[: text.index(part)]
    return len(before.encode("utf-16-le")) // 2, len(part.encode("utf-16-le")) // 2


def test_source_key_is_the_channel_id_with_a_lowercase_alias() -> None:
    assert (SOURCE.platform_id, SOURCE.username) == ("1001", "room_name")
    assert source_key(7, None).username is None


def test_entity_offsets_are_utf16_units_past_emoji_and_hangul() -> None:
    text = "🔥🔥 합성방 link"
    assert utf16_slice(text, *span(text, "link")) == "link"
    assert utf16_slice(text, *span(text, "합성방")) == "합성방"


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("https://t.me/+AbCdEf12", LinkKind.INVITE, "AbCdEf12"),
        ("t.me/joinchat/AbCdEf12", LinkKind.INVITE, "AbCdEf12"),
        ("https://t.me/addlist/Slug123", LinkKind.INVITE, "addlist/Slug123"),
        ("https://telegram.me/Some_Room/12", LinkKind.CHANNEL, "some_room"),
        ("https://t.me/s/some_room", LinkKind.CHANNEL, "some_room"),
        ("tg://resolve?domain=some_room", LinkKind.CHANNEL, "some_room"),
        ("tg://join?invite=AbCdEf12", LinkKind.INVITE, "AbCdEf12"),
        ("https://t.me/+14155550123", LinkKind.EXTERNAL, None),
        ("https://example.org/t.me/x", LinkKind.EXTERNAL, None),
        ("http://[::1", LinkKind.EXTERNAL, None),
    ],
)
def test_urls_are_typed_for_discovery(url: str, kind: LinkKind, target: str | None) -> None:
    link = classify_url(url)
    assert (link.url, link.kind, link.target) == (url, kind, target)


def test_hidden_hrefs_mentions_hashtags_and_web_previews_become_links() -> None:
    text = "보기 here @Next_Room #지인능욕 t.me/+Invite123"
    entities = [
        types.MessageEntityTextUrl(*span(text, "here"), url="https://t.me/hidden_room"),
        types.MessageEntityMention(*span(text, "@Next_Room")),
        types.MessageEntityHashtag(*span(text, "#지인능욕")),
        types.MessageEntityUrl(*span(text, "t.me/+Invite123")),
        types.MessageEntityBold(0, 2),
        types.MessageEntityMention(*span(text, "@Next_Room")),  # repeats are dropped
    ]
    webpage = types.MessageMediaWebPage(
        types.WebPage(id=1, url="https://example.org/a", display_url="example.org/a", hash=0)
    )
    links = message_links(text, entities, webpage)
    assert [(link.kind, link.target) for link in links] == [
        (LinkKind.CHANNEL, "hidden_room"),
        (LinkKind.MENTION, "next_room"),
        (LinkKind.HASHTAG, "#지인능욕"),
        (LinkKind.INVITE, "Invite123"),
        (LinkKind.EXTERNAL, None),
    ]


def test_a_post_carries_counters_reactions_forward_and_album() -> None:
    origin = types.Channel(
        id=2002, title="Origin", photo=types.ChatPhotoEmpty(), date=T0, username="Origin_Room"
    )
    msg = message(
        text="hello", views=10, forwards=2, post_author="admin", grouped_id=77,
        edit_date=T0 + dt.timedelta(hours=1),
        replies=types.MessageReplies(replies=4, replies_pts=1),
        reactions=types.MessageReactions(results=[
            types.ReactionCount(types.ReactionEmoji("❤"), 3),
            types.ReactionCount(types.ReactionPaid(), 1),
        ]),
        fwd_from=types.MessageFwdHeader(date=T0, from_id=types.PeerChannel(2002), channel_post=9),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=4),
    )  # fmt: skip
    post = parse_message(msg, SOURCE, T0, {2002: origin}).post
    assert (post.views.value, post.views.exact, post.forwards.value, post.replies.value) == (
        10, True, 2, 4
    )  # fmt: skip
    assert post.reactions == (("❤", 3), ("paid", 1))
    assert (post.author, post.grouped_id, post.reply_to) == ("admin", 77, 4)
    assert post.edited and post.edited_at == T0 + dt.timedelta(hours=1)
    assert post.fwd_from is not None
    assert (post.fwd_from.source_id, post.fwd_from.username, post.fwd_from.platform_id) == (
        "2002", "origin_room", 9
    )  # fmt: skip
    assert post.url == "https://t.me/room_name/5"


def test_a_forward_from_a_hidden_user_keeps_only_the_name() -> None:
    msg = message(fwd_from=types.MessageFwdHeader(date=T0, from_name="someone"))
    fwd = parse_message(msg, SOURCE, T0).post.fwd_from
    assert fwd is not None and (fwd.source_id, fwd.name) == (None, "someone")


def test_service_messages_are_flagged_and_keep_a_new_title() -> None:
    service = types.MessageService(
        id=3, peer_id=types.PeerChannel(1001), date=T0,
        action=types.MessageActionChatEditTitle("새 방 이름"),
    )  # fmt: skip
    post = parse_message(service, SOURCE, T0).post
    assert post.is_service and post.text == "새 방 이름" and post.media == ()


def test_photo_metadata_comes_from_its_largest_size() -> None:
    photo = types.Photo(
        id=55, access_hash=1, file_reference=b"r", date=T0, dc_id=2,
        sizes=[types.PhotoStrippedSize("i", b"x"), types.PhotoSize("m", 320, 180, 900),
               types.PhotoSizeProgressive("y", 1280, 720, [100, 5000, 20000])],
    )  # fmt: skip
    parsed = parse_message(message(media=types.MessageMediaPhoto(photo=photo)), SOURCE, T0)
    [meta] = parsed.post.media
    assert (meta.kind, meta.width, meta.height, meta.size, meta.file_id) == (
        "photo", 1280, 720, 20000, "55"
    )  # fmt: skip
    assert meta.hash_status is HashStatus.POLICY_OFF  # until media.py hashes it


@pytest.mark.parametrize(
    ("attributes", "mime", "kind"),
    [
        ([types.DocumentAttributeVideo(duration=3.5, w=640, h=360)], "video/mp4", "video"),
        ([types.DocumentAttributeVideo(duration=3, w=1, h=1, round_message=True)], "video/mp4",
         "video_note"),
        ([types.DocumentAttributeAnimated(), types.DocumentAttributeVideo(1, 1, 1)],
         "video/mp4", "animation"),
        ([types.DocumentAttributeAudio(duration=9, voice=True)], "audio/ogg", "voice"),
        ([types.DocumentAttributeImageSize(800, 600)], "image/png", "image"),
        ([], "image/svg+xml", "document"),
        ([], "application/zip", "document"),
    ],
)  # fmt: skip
def test_document_kinds(attributes: list[object], mime: str, kind: str) -> None:
    document = types.Document(
        id=66, access_hash=1, file_reference=b"r", date=T0, mime_type=mime, size=1234,
        dc_id=2, attributes=attributes,
    )  # fmt: skip
    media = types.MessageMediaDocument(document=document)
    assert parse_message(message(media=media), SOURCE, T0).post.media[0].kind == kind


def test_a_video_brings_its_largest_thumbnail_as_a_second_medium() -> None:
    document = types.Document(
        id=66, access_hash=1, file_reference=b"r", date=T0, mime_type="video/mp4",
        size=10_000_000, dc_id=2,
        attributes=[types.DocumentAttributeVideo(duration=60, w=1920, h=1080)],
        thumbs=[types.PhotoSize("s", 90, 50, 800), types.PhotoSize("m", 320, 180, 9000)],
    )  # fmt: skip
    parsed = parse_message(message(media=types.MessageMediaDocument(document=document)), SOURCE, T0)
    video, thumb = parsed.media
    assert (video.meta.kind, video.meta.duration, video.streamed) == ("video", 60.0, True)
    assert (thumb.meta.kind, thumb.meta.ordinal, thumb.thumb, thumb.streamed) == (
        "video_thumbnail", 1, "m", False
    )  # fmt: skip


def test_channel_snapshot_has_flags_counts_and_linked_chat() -> None:
    chat = types.Channel(
        id=1001, title="Room", photo=types.ChatPhotoEmpty(), date=T0, username="Room_Name",
        verified=True, scam=True, broadcast=True, access_hash=5,
    )  # fmt: skip
    full = types.ChannelFull(
        id=1001, about="about", read_inbox_max_id=0, read_outbox_max_id=0, unread_count=0,
        chat_photo=types.PhotoEmpty(0), notify_settings=types.PeerNotifySettings(), bot_info=[],
        pts=1, participants_count=120_000, linked_chat_id=3003,
    )  # fmt: skip
    snap = channel_snapshot(chat, full, T0)
    assert (snap.username, snap.title, snap.about, snap.participants.value) == (
        "room_name", "Room", "about", 120_000
    )  # fmt: skip
    assert snap.flags == {"verified", "scam", "broadcast"}
    assert (snap.linked_chat_id, snap.created_at) == ("3003", T0)


def test_url_buttons_under_a_post_are_links_too() -> None:
    buttons = types.ReplyInlineMarkup(
        rows=[
            types.KeyboardInlineButtonRow(
                buttons=[
                    types.KeyboardInlineButton(
                        "백업방", types.InlineButtonTypeUrl("https://t.me/+Backup99")
                    ),
                    types.KeyboardInlineButton("ok", types.InlineButtonTypeCallback(b"x")),
                ]
            )
        ]
    )
    post = parse_message(message(text="공지", reply_markup=buttons), SOURCE, T0).post
    assert [(link.kind, link.target) for link in post.links] == [(LinkKind.INVITE, "Backup99")]


def document_media(mime: str, *attributes: object, thumbs: list[object] | None = None) -> object:
    document = types.Document(
        id=77, access_hash=1, file_reference=b"r", date=T0, mime_type=mime, size=4000, dc_id=2,
        attributes=list(attributes), thumbs=thumbs,
    )  # fmt: skip
    return types.MessageMediaDocument(document=document)


STICKER = types.DocumentAttributeSticker(alt="😀", stickerset=types.InputStickerSetEmpty())
THUMB = [types.PhotoSize("m", 128, 128, 3000)]


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        # A static sticker is a picture hashed itself; animated and video ones by a thumbnail.
        (document_media("image/webp", STICKER, thumbs=THUMB), [("sticker", "image/webp")]),
        (document_media("application/x-tgsticker", STICKER, types.DocumentAttributeAnimated(),
                        thumbs=THUMB),
         [("sticker", "application/x-tgsticker"), ("thumbnail", "image/webp")]),
        (document_media("video/webm", types.DocumentAttributeVideo(3, 512, 512), STICKER),
         [("sticker", "video/webm")]),
        (document_media("audio/mpeg", types.DocumentAttributeAudio(200, title="t")),
         [("audio", "audio/mpeg")]),
        (types.MessageMediaDice(3, "🎯"), [("dice", None)]),
        (types.MessageMediaGeoLive(types.GeoPointEmpty(), period=60), [("live_location", None)]),
        (types.MessageMediaWebPage(types.WebPageEmpty(id=1)), []),
        (types.MessageMediaUnsupported(), []),
    ],
)  # fmt: skip
def test_media_kinds(media: object, expected: list[tuple[str, str | None]]) -> None:
    parsed = parse_message(message(media=media), SOURCE, T0)
    assert [(p.meta.kind, p.meta.mime) for p in parsed.media] == expected
    assert parsed.post.media == tuple(p.meta for p in parsed.media)


def test_a_poll_is_text_the_matchers_read() -> None:
    poll = types.Poll(
        id=1, hash=0, question=types.TextWithEntities("어느 방?", []),
        answers=[types.PollAnswer(types.TextWithEntities(t, []), bytes([i]))
                 for i, t in enumerate(["지인능욕방", " ", "겹지인방"])],
    )  # fmt: skip
    parsed = parse_message(
        message(media=types.MessageMediaPoll(poll, types.PollResults())), SOURCE, T0
    )
    assert parsed.post.text == "어느 방?\n지인능욕방\n겹지인방"
    [plan] = parsed.media
    assert (plan.meta.kind, plan.meta.hash_status, plan.file) == ("poll", HashStatus.NO_FILE, None)


def test_contacts_and_places_carry_a_normalized_value_only_in_the_plan() -> None:
    contact = types.MessageMediaContact("+82 10-1234-5678", "Kim", "Lee", "BEGIN:VCARD", 5)
    venue = types.MessageMediaVenue(
        types.GeoPoint(long=126.97805, lat=37.56649, access_hash=1), "Home", "Street 1", "", "", ""
    )
    for media, kind, value in (
        (contact, "contact", "tel:821012345678"),
        (venue, "venue", "geo:37.566,126.978"),
    ):
        parsed = parse_message(message(media=media), SOURCE, T0)
        [plan] = parsed.media
        assert (plan.meta.kind, plan.value, plan.file) == (kind, value, None)
        assert value.split(":")[1] not in repr(parsed.post)


def test_a_link_preview_picture_is_a_medium_of_its_own_kind() -> None:
    photo = types.Photo(
        id=55, access_hash=1, file_reference=b"r", date=T0, dc_id=2,
        sizes=[types.PhotoSize("x", 800, 600, 5000)],
    )  # fmt: skip
    page = types.WebPage(id=1, url="https://news.example/a", display_url="news.example/a", hash=0,
                         photo=photo)  # fmt: skip
    parsed = parse_message(message(media=types.MessageMediaWebPage(page)), SOURCE, T0)
    [plan] = parsed.media
    assert (plan.meta.kind, plan.meta.width, plan.file) == ("link_preview", 800, photo)
    assert [link.url for link in parsed.post.links] == ["https://news.example/a"]


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        # One room as a mention and as a button in another case: one link, the mention.
        ([("https://t.me/room_a", LinkKind.CHANNEL, "room_a"),
          ("https://t.me/room_a", LinkKind.MENTION, "room_a")],
         [("https://t.me/room_a", LinkKind.MENTION)]),
        ([("https://t.me/room_a", LinkKind.MENTION, "room_a"),
          ("http://www.telegram.me/Room_A/", LinkKind.CHANNEL, "room_a")],
         [("https://t.me/room_a", LinkKind.MENTION)]),
        ([("t.me/room_a", LinkKind.CHANNEL, "room_a"),
          ("https://example.org/x", LinkKind.EXTERNAL, None),
          ("https://t.me/Room_A", LinkKind.MENTION, "room_a")],
         [("https://t.me/Room_A", LinkKind.MENTION), ("https://example.org/x", LinkKind.EXTERNAL)]),
        # Invite hashes are case-sensitive: two invites, two links.
        ([("https://t.me/+AbC", LinkKind.INVITE, "AbC"),
          ("https://t.me/+abc", LinkKind.INVITE, "abc")],
         [("https://t.me/+AbC", LinkKind.INVITE), ("https://t.me/+abc", LinkKind.INVITE)]),
    ],
)  # fmt: skip
def test_one_link_per_target_of_the_most_specific_kind(
    links: list[tuple[str, LinkKind, str | None]], expected: list[tuple[str, LinkKind]]
) -> None:
    found = one_per_target(Link(url, kind, target) for url, kind, target in links)
    assert [(link.url, link.kind) for link in found] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+82 10-1234-5678", "tel:821012345678"), ("0082 10 1234 5678", "tel:821012345678"),
     ("821012345678", "tel:821012345678"), ("12345", None), ("", None), ("1" * 16, None)],
)  # fmt: skip
def test_normalize_phone(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("lat", "long", "expected"),
    [(37.56649, 126.97805, "geo:37.566,126.978"), (-0.0001, -0.0001, "geo:0.000,0.000"),
     (10.0, 180.0, "geo:10.000,-180.000"), (91.0, 0.0, None), (float("nan"), 0.0, None),
     (0.0, 181.0, None)],
)  # fmt: skip
def test_normalize_place(lat: float, long: float, expected: str | None) -> None:
    assert normalize_place(lat, long) == expected


def test_keyed_value_hash_depends_on_the_key() -> None:
    a, b = keyed_value_hash(b"k" * 16, "tel:1"), keyed_value_hash(b"j" * 16, "tel:1")
    assert a != b and len(a) == 64 and a == keyed_value_hash(b"k" * 16, "tel:1")
