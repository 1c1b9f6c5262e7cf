"""The t.me/s parser against real-shaped markup: a hand-written page and the fixture renderer.

The static page below is written from real t.me/s markup, independently of the fixture
renderer, so the renderer and the parser cannot agree on a mistake unnoticed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.observations import (
    CollectorKind,
    Counter,
    ForwardRef,
    HashStatus,
    Link,
    LinkKind,
    Platform,
    Post,
    SourceKey,
)
from sandbox.site import FixtureChannel, numbered_posts, render_channel_page
from sandbox.site.model import (
    Document,
    FixturePost,
    Location,
    Media,
    Poll,
    RoundVideo,
    Sticker,
    Voice,
)
from sandbox.site.render import data_view
from sandbox.site.traps import TRAP_CHANNEL_ID, trap_channel, trap_posts
from spiders.tme_counters import channel_id_from_data_view, parse_duration, parse_timestamp
from spiders.tme_links import classify_link
from spiders.tme_parser import MediaUrl, PreviewPage, parse_channel_page, parse_counter
from tests.hostile_html import html_fragments

OBSERVED = datetime(2024, 4, 1, tzinfo=UTC)
BASE = "http://127.0.0.1:8080"

REAL_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Telegram – Room Watch</title>
<link rel="canonical" href="https://t.me/s/RoomWatch">
<link rel="prev" href="/s/RoomWatch?before=120">
<script>var x = "<div class='tgme_widget_message' data-post='evil/1'>";</script>
</head><body class="widget_frame_base tgme_webpreview emoji_image no_transitions">
<main class="tgme_main"><div class="tgme_container">
<div class="tgme_channel_info">
  <div class="tgme_channel_info_header">
    <i class="tgme_page_photo_image bgcolor2" data-content="R"><img src="https://cdn4.telesco.pe/file/av.jpg"></i>
    <div class="tgme_channel_info_header_title"><span dir="auto">Room&#39;s Watch</span></div>
    <div class="tgme_channel_info_header_username"><a href="https://t.me/roomwatch">@RoomWatch</a></div>
  </div>
  <div class="tgme_channel_info_description">Line one<br/>Line <a href="https://t.me/other_room">two</a></div>
  <div class="tgme_channel_info_counters">
    <div class="tgme_channel_info_counter"><span class="counter_value">1.2M</span> <span class="counter_type">subscribers</span></div>
    <a class="tgme_channel_info_counter" href="https://t.me/s/RoomWatch?q=%23photos"><span class="counter_value">131</span> <span class="counter_type">photos</span></a>
  </div>
</div>
<section class="tgme_channel_history js-message_history">
<a href="/s/RoomWatch?before=120" class="tme_messages_more js-messages_more" data-before="120"></a>
<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="RoomWatch/120" data-view="eyJjIjotMTAwMTIzNDU2Nzg5MCwicCI6IjEyMGciLCJ0IjoxNzA4MjkxNjMyLCJoIjoiYTdiYzExOWIwNTQ4ZGZmZjMzIn0">
  <div class="tgme_widget_message_user"><a href="https://t.me/RoomWatch"><i class="tgme_widget_message_user_photo bgcolor2" data-content="R"><img src="https://cdn4.telesco.pe/file/av.jpg"></i></a></div>
  <div class="tgme_widget_message_bubble">
    <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/RoomWatch"><span dir="auto">Room Watch</span></a></div>
    <div class="tgme_widget_message_forwarded_from accent_color">Forwarded from <a class="tgme_widget_message_forwarded_from_name" href="https://t.me/Origin_Room/77"><span dir="auto">Origin Room</span></a></div>
    <a class="tgme_widget_message_reply" href="https://t.me/RoomWatch/118"><div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name" dir="auto">Room Watch</span></div><div class="tgme_widget_message_text js-message_reply_text" dir="auto">the quoted text</div></a>
    <div class="tgme_widget_message_text js-message_text" dir="auto">Hello <i class="emoji" style="background-image:url('//telegram.org/img/emoji/40/F09F918B.png')"><b>👋</b></i> world<br/>tags <a href="?q=%23deepfake">#deepfake</a> <a href="https://t.me/SomeOne">@SomeOne</a> <a href="https://t.me/+AbCdEf123456">join</a> <a href="https://t.me/joinchat/QwErTy987654">old</a> <a href="https://t.me/addlist/FoLdEr42xyz">folder</a> <a href="https://evil.example/x" target="_blank" rel="noopener" onclick="return confirm('Open this link?\\n\\n'+this.href);">https://t.me/innocent</a></div>
    <a class="tgme_widget_message_link_preview" href="https://news.example/article"><i class="link_preview_right_image" style="background-image:url('https://cdn4.telesco.pe/file/lp.jpg')"></i><div class="link_preview_site_name accent_color" dir="auto">News</div><div class="link_preview_title" dir="auto">Preview title</div></a>
    <div class="tgme_widget_message_reactions js-message_reactions"><span class="tgme_reaction"><i class="emoji" style="background-image:url('//telegram.org/img/emoji/40/F09F918D.png')"><b>👍</b></i>1.2K</span><span class="tgme_reaction"><tg-emoji emoji-id="5368324170671202286"><i class="emoji"><b>😂</b></i></tg-emoji>45</span></div>
    <div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_info">
      <span class="tgme_widget_message_views">12.5K</span><span class="copyonly"> views</span><span class="tgme_widget_message_meta"><span class="tgme_widget_message_from_author" dir="auto">Admin Kim</span>,&nbsp;edited&nbsp;<a class="tgme_widget_message_date" href="https://t.me/RoomWatch/120"><time datetime="2024-02-18T21:27:12+03:00" class="time">18:27</time></a></span>
    </div></div>
  </div>
</div></div>
<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="RoomWatch/124" data-view="eyJjIjotMTAwMTIzNDU2Nzg5MCwicCI6IjEyNGcifQ">
  <div class="tgme_widget_message_bubble">
    <div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" style="width:453px;"><div class="tgme_widget_message_grouped"><div class="tgme_widget_message_grouped_layer js-message_grouped_layer">
      <a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" style="left:0px;top:0px;width:200px;height:411px;background-image:url('https://cdn4.telesco.pe/file/one.jpg')" href="https://t.me/RoomWatch/122?single"><div class="grouped_media_helper"><div class="tgme_widget_message_photo grouped_media"></div></div></a>
      <a class="tgme_widget_message_video_player grouped_media_wrap blured js-message_video_player" href="https://t.me/RoomWatch/123?single"><i class="tgme_widget_message_video_thumb" style="background-image:url(https://cdn4.telesco.pe/file/thumb.jpg)"></i><div class="tgme_widget_message_video_wrap grouped_media_helper"><video class="tgme_widget_message_video js-message_video" src="https://cdn4.telesco.pe/file/clip.mp4?token=abc" width="100%" height="100%"></video></div><time class="message_video_duration js-message_video_duration">1:02:03</time></a>
      <a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" style="background-image:url(&quot;https://cdn4.telesco.pe/file/three.jpg&quot;)" href="https://t.me/RoomWatch/124?single"></a>
    </div></div></div>
    <div class="tgme_widget_message_text js-message_text" dir="auto">Album caption</div>
    <div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_info"><span class="tgme_widget_message_views">1 234</span><span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/RoomWatch/122"><time datetime="2024-02-19T00:00:00Z" class="time">00:00</time></a></span></div></div>
  </div>
</div></div>
<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message service_message js-widget_message" data-post="RoomWatch/130" data-view="bm90IGpzb24">
  <div class="tgme_widget_message_bubble"><div class="tgme_widget_message_text js-message_text" dir="auto">Channel photo updated</div>
  <div class="tgme_widget_message_footer"><div class="tgme_widget_message_info js-message_info"><span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/RoomWatch/130"><time datetime="2024-02-20T10:00:00+00:00" class="time">10:00</time></a></span></div></div></div>
</div></div>
</section></div></main></body></html>
"""  # noqa: E501


def parse(html: str, page_url: str = "https://t.me/s/RoomWatch") -> PreviewPage:
    return parse_channel_page(html, page_url=page_url, observed_at=OBSERVED)


# -- the hand-written real-shaped page -------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> PreviewPage:
    return parse(REAL_PAGE)


def by_id(page: PreviewPage, message_id: int) -> Post:
    return next(post for post in page.posts if post.message_id == message_id)


def test_real_page_identity_and_header(real: PreviewPage) -> None:
    key = SourceKey(Platform.TELEGRAM, platform_id="1234567890", username="roomwatch")
    assert real.channel is not None
    assert real.channel.source == key
    assert real.channel.title == "Room's Watch"
    assert real.channel.username == "roomwatch"
    assert real.channel.about == "Line one\nLine two"
    assert real.channel.participants == Counter(1_200_000, "1.2M", exact=False)
    assert real.older_cursor == 120
    assert real.has_message_markup
    # The script's message-shaped string is not a message.
    assert [p.message_id for p in real.posts] == [120, 122, 123, 124, 130]
    assert all(
        p.collector is CollectorKind.TME_PREVIEW and p.observed_at == OBSERVED for p in real.posts
    )


def test_real_page_post_fields(real: PreviewPage) -> None:
    post = by_id(real, 120)
    assert (
        post.text == "Hello 👋 world\ntags #deepfake @SomeOne join old folder https://t.me/innocent"
    )
    assert post.url == "https://t.me/roomwatch/120"
    assert post.posted_at == datetime(2024, 2, 18, 18, 27, 12, tzinfo=UTC)
    assert post.edited is True
    assert post.author == "Admin Kim"
    assert post.views == Counter(12_500, "12.5K", exact=False)
    assert post.reply_to == 118
    assert post.fwd_from == ForwardRef(username="origin_room", platform_id=77, name="Origin Room")
    assert post.reactions == (("👍", 1200), ("custom:5368324170671202286", 45))
    # The link preview's picture is the linked site's card, recorded as such, not a photo.
    assert [(m.kind, m.ordinal) for m in post.media] == [("link_preview", 0)]


def test_real_page_links(real: PreviewPage) -> None:
    assert by_id(real, 120).links == (
        Link("https://t.me/s/RoomWatch?q=%23deepfake", LinkKind.HASHTAG, "#deepfake"),
        Link("https://t.me/SomeOne", LinkKind.MENTION, "someone"),
        Link("https://t.me/+AbCdEf123456", LinkKind.INVITE, "AbCdEf123456"),
        Link("https://t.me/joinchat/QwErTy987654", LinkKind.INVITE, "QwErTy987654"),
        Link("https://t.me/addlist/FoLdEr42xyz", LinkKind.INVITE, "addlist/FoLdEr42xyz"),
        Link("https://evil.example/x", LinkKind.EXTERNAL),
        Link("https://news.example/article", LinkKind.EXTERNAL),
    )


def test_real_page_album_members_keep_their_ids(real: PreviewPage) -> None:
    first, video, last = by_id(real, 122), by_id(real, 123), by_id(real, 124)
    assert (first.text, first.views) == ("Album caption", Counter(1234, "1 234", exact=True))
    assert {first.grouped_id, video.grouped_id, last.grouped_id} == {122}
    assert (video.text, video.views, last.text, last.views) == ("", None, "", None)
    assert video.media[0].kind == "video" and video.media[0].duration == 3723.0
    assert video.url == "https://t.me/roomwatch/123"
    assert real.media_urls == (
        MediaUrl(120, 0, "https://cdn4.telesco.pe/file/lp.jpg", "photo"),
        MediaUrl(122, 0, "https://cdn4.telesco.pe/file/one.jpg", "photo"),
        MediaUrl(123, 0, "https://cdn4.telesco.pe/file/thumb.jpg", "video_thumb"),
        MediaUrl(123, 0, "https://cdn4.telesco.pe/file/clip.mp4?token=abc", "video"),
        MediaUrl(124, 0, "https://cdn4.telesco.pe/file/three.jpg", "photo"),
    )


def test_real_page_service_message(real: PreviewPage) -> None:
    service = by_id(real, 130)
    assert service.is_service and service.views is None
    assert service.text == "Channel photo updated"
    # Its data-view does not decode, but the page's other messages name the channel id.
    assert service.source.platform_id == "1234567890"


# -- the fixture renderer's trap channel -----------------------------------------------------

TRAPS = trap_posts()


@pytest.fixture(scope="module")
def rendered() -> PreviewPage:
    html = render_channel_page(trap_channel(), base_url=BASE)
    return parse(html, page_url=f"{BASE}/s/TrapRoom")


def trap(page: PreviewPage, name: str, member: int | None = None) -> Post:
    return by_id(page, member if member is not None else TRAPS[name].id)


def test_rendered_every_post_is_found_in_order_with_id_holes(rendered: PreviewPage) -> None:
    expected = sorted({i for post in TRAPS.values() for i in post.ids})
    assert [post.message_id for post in rendered.posts] == expected
    assert 103 not in expected and 115 not in expected


def test_rendered_identity(rendered: PreviewPage) -> None:
    key = SourceKey(Platform.TELEGRAM, platform_id=str(TRAP_CHANNEL_ID), username="traproom")
    assert {post.source for post in rendered.posts} == {key}
    assert rendered.channel is not None and rendered.channel.source == key
    assert rendered.channel.title == "Trap Room"
    assert rendered.channel.about == "Deepfake rooms watch\nsecond line"
    assert rendered.channel.participants == Counter(12_500, "12.5K", exact=False)
    assert "verified" in rendered.channel.flags


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_rendered_text_is_the_posts_own(rendered: PreviewPage, name: str) -> None:
    assert trap(rendered, name).text == TRAPS[name].plain_text


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_rendered_date_is_utc_whatever_the_offset(rendered: PreviewPage, name: str) -> None:
    posted = trap(rendered, name).posted_at
    assert posted == TRAPS[name].date and posted.utcoffset().total_seconds() == 0


def test_rendered_views_rounded_exact_and_narrow_space(rendered: PreviewPage) -> None:
    assert trap(rendered, "text").views == Counter(12_500, "12.5K", exact=False)
    assert trap(rendered, "invites").views == Counter(1234, "1\u202f234", exact=True)
    assert trap(rendered, "edited_signed").views == Counter(987, "987", exact=True)
    assert trap(rendered, "signed_edited_name").views == Counter(1_200_000, "1.2M", exact=False)


def test_rendered_edited_and_signature(rendered: PreviewPage) -> None:
    assert trap(rendered, "edited_signed").edited is True
    assert trap(rendered, "edited_signed").author == "Admin Kim"
    # A signature that reads "edited" does not make the post edited.
    assert trap(rendered, "signed_edited_name").edited is False
    assert trap(rendered, "signed_edited_name").author == "edited"


def test_rendered_forwards(rendered: PreviewPage) -> None:
    assert trap(rendered, "forward").fwd_from == ForwardRef(
        username="origin_room", platform_id=77, name="Origin Room"
    )
    assert trap(rendered, "hidden_forward").fwd_from == ForwardRef(name="Hidden Person")


def test_rendered_reply_quote_is_not_the_text(rendered: PreviewPage) -> None:
    reply = trap(rendered, "reply")
    assert reply.reply_to == 100
    assert reply.text == "the answer" and "quoted" not in reply.text


def test_rendered_photos_any_quoting(rendered: PreviewPage) -> None:
    for name in ("photo", "photo_double_quoted", "photo_unquoted"):
        post = trap(rendered, name)
        assert [(m.kind, m.hash_status) for m in post.media] == [("photo", HashStatus.POLICY_OFF)]
        assert MediaUrl(post.message_id, 0, f"{BASE}/img/p{post.message_id}.jpg", "photo") in (
            rendered.media_urls
        )


def test_rendered_caption_one_wrapper_deeper(rendered: PreviewPage) -> None:
    assert trap(rendered, "photo").text == "caption under photo"


def test_rendered_videos(rendered: PreviewPage) -> None:
    video, too_big = trap(rendered, "video"), trap(rendered, "video_too_big")
    assert [(m.kind, m.duration) for m in video.media] == [("video", 3723.0)]
    assert [(m.kind, m.duration) for m in too_big.media] == [("video", 15.0)]
    roles = {(u.message_id, u.role): u.url for u in rendered.media_urls}
    assert roles[(116, "video")] == f"{BASE}/media/v116.mp4"
    assert roles[(116, "video_thumb")] == f"{BASE}/img/t116.jpg"
    assert (117, "video") not in roles and (117, "video_thumb") in roles


@pytest.mark.parametrize(
    ("name", "members"), [("album", (118, 119, 120)), ("album_last_data_post", (121, 122))]
)
def test_rendered_album_caption_and_counters_on_first_member(
    rendered: PreviewPage, name: str, members: tuple[int, ...]
) -> None:
    head, *rest = (trap(rendered, name, member) for member in members)
    assert head.message_id == members[0] and head.text == TRAPS[name].plain_text
    assert head.views is not None
    assert all(p.grouped_id == members[0] for p in (head, *rest))
    assert all(p.text == "" and p.views is None and p.reactions == () for p in rest)
    assert all(len(p.media) == 1 for p in (head, *rest))


def test_rendered_reactions(rendered: PreviewPage) -> None:
    assert trap(rendered, "reactions").reactions == (
        ("👍", 1200),
        ("custom:5368324170671202286", 45),
        ("paid", 7),
    )
    assert trap(rendered, "album").reactions == (("👍", 5),)


def test_rendered_links_by_kind(rendered: PreviewPage) -> None:
    assert trap(rendered, "text").links == (
        Link(f"{BASE}/s/TrapRoom?q=%23deepfake", LinkKind.HASHTAG, "#deepfake"),
        Link("https://t.me/Some_One", LinkKind.MENTION, "some_one"),
        Link("https://t.me/Another_Room", LinkKind.CHANNEL, "another_room"),
    )
    assert trap(rendered, "invites").links == (
        Link("https://t.me/+AbCdEf123456", LinkKind.INVITE, "AbCdEf123456"),
        Link("https://t.me/joinchat/QwErTy987654", LinkKind.INVITE, "QwErTy987654"),
        Link("https://t.me/addlist/FoLdEr42xyz", LinkKind.INVITE, "addlist/FoLdEr42xyz"),
        Link("https://evil.example/landing", LinkKind.EXTERNAL),  # the href, not the text
    )
    assert trap(rendered, "link_preview").links == (
        Link("https://news.example/a", LinkKind.EXTERNAL),
    )
    assert [m.kind for m in trap(rendered, "link_preview").media] == ["link_preview"]


def test_rendered_service_message(rendered: PreviewPage) -> None:
    service = trap(rendered, "service")
    assert service.is_service and service.views is None
    assert not any(p.is_service for p in rendered.posts if p.message_id != service.message_id)


def test_rendered_permalinks_canonical_or_mirror() -> None:
    page = parse(render_channel_page(trap_channel(), base_url=BASE), page_url=f"{BASE}/s/TrapRoom")
    assert page.posts[0].url == "https://t.me/traproom/100"
    mirror = trap_channel(permalink_origin=None)
    page = parse(render_channel_page(mirror, base_url=BASE), page_url=f"{BASE}/s/TrapRoom")
    assert page.posts[0].url == f"{BASE}/traproom/100"


# -- paging, data-view, stale markup ---------------------------------------------------------


def paged(**overrides: object) -> FixtureChannel:
    ids = [i for i in range(1, 60) if i % 7]  # holes at every multiple of 7
    return replace(FixtureChannel("Pager", 555, "Pager", posts=numbered_posts(ids)), **overrides)


def test_cursor_from_rel_prev_then_older_pages_to_the_end() -> None:
    channel, seen, before = paged(), [], None
    while True:
        page = parse(render_channel_page(channel, base_url=BASE, before=before), f"{BASE}/s/Pager")
        assert len(page.posts) <= 20
        seen = [p.message_id for p in page.posts] + seen
        if page.older_cursor is None:
            break
        assert page.older_cursor == page.posts[0].message_id
        before = page.older_cursor
    assert seen == [i for i in range(1, 60) if i % 7]


@pytest.mark.parametrize(("rel_prev", "more_link"), [(False, True), (True, False)])
def test_cursor_from_either_marker(rel_prev: bool, more_link: bool) -> None:
    channel = paged(rel_prev=rel_prev, more_link=more_link)
    page = parse(render_channel_page(channel, base_url=BASE), f"{BASE}/s/Pager")
    assert page.older_cursor == page.posts[0].message_id


def test_newer_cursor_from_rel_next() -> None:
    page = parse(render_channel_page(paged(), base_url=BASE, after=10), f"{BASE}/s/Pager")
    assert page.posts[0].message_id == 11 and page.newer_cursor == page.posts[-1].message_id


@pytest.mark.parametrize("style", ["bot_api", "negative", "positive"])
def test_data_view_spellings_name_the_same_channel(style: str) -> None:
    channel = paged(data_view_style=style)
    assert channel_id_from_data_view(data_view(channel, 5)) == "555"


def test_undecodable_data_view_falls_back_to_username() -> None:
    page = parse(render_channel_page(paged(data_view_style="broken"), base_url=BASE), BASE)
    assert {p.source for p in page.posts} == {SourceKey(Platform.TELEGRAM, username="pager")}


def test_stale_markup_is_detectable() -> None:
    html = render_channel_page(paged(), base_url=BASE).replace("data-post=", "data-post-id=")
    page = parse(html)
    assert page.posts == () and page.has_message_markup
    empty = parse(render_channel_page(paged(posts=[]), base_url=BASE))
    assert empty.posts == () and not empty.has_message_markup


def one_message(inner: str, view: str = "") -> str:
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_'
        f'message js-widget_message" data-post="Room/5" data-view="{view}">'
        f'<div class="tgme_widget_message_bubble">{inner}</div></div></div>'
    )


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://t.me/Origin_Room", ForwardRef(username="origin_room", name="O")),
        ("https://t.me/c/1234567/89", ForwardRef(source_id="1234567", platform_id=89, name="O")),
        ("https://t.me/+AbCdEf123456", ForwardRef(name="O")),
    ],
)
def test_forward_link_shapes(href: str, expected: ForwardRef) -> None:
    inner = (
        '<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from '
        f'<a class="tgme_widget_message_forwarded_from_name" href="{href}"><span>O</span></a></div>'
    )
    assert parse(one_message(inner)).posts[0].fwd_from == expected


@pytest.mark.parametrize(
    "view",
    [
        "eyJjIjotMTAwMTIzNDU2Nzg5MH0=",  # padded
        "eyJjIjoiLTEwMDEyMzQ1Njc4OTAifQ",  # "c" as a string
        "eyJjIjotMTIzNDU2Nzg5MH0",  # plain negative id
    ],
)
def test_data_view_variants(view: str) -> None:
    assert parse(one_message("", view)).posts[0].source.platform_id == "1234567890"


# -- counters and small parsers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "exact"),
    [
        ("987", 987, True),
        ("12.5K", 12_500, False),
        ("1.2M", 1_200_000, False),
        ("1 234", 1234, True),
        ("1\u202f234", 1234, True),
        ("1\u00a0234\u00a0567", 1_234_567, True),
        ("1,234", 1234, True),
        ("1,5K", 1500, False),
        (" 3k ", 3000, False),
        ("2B", 2_000_000_000, False),
    ],
)
def test_parse_counter(raw: str, value: int, exact: bool) -> None:
    assert parse_counter(raw) == Counter(value, raw, exact)


@pytest.mark.parametrize("raw", ["", "K", "12.5", "1.2.3K", "views", "1 23", "٣"])
def test_parse_counter_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_counter(raw)


def test_small_parsers() -> None:
    assert parse_duration("0:15") == 15.0 and parse_duration("1:02:03") == 3723.0
    assert parse_duration("abc") is None
    assert parse_timestamp("2024-02-18T21:27:12+03:00") == datetime(
        2024, 2, 18, 18, 27, 12, tzinfo=UTC
    )
    assert parse_timestamp("2024-02-18T21:27:12Z") == datetime(2024, 2, 18, 21, 27, 12, tzinfo=UTC)
    assert parse_timestamp("yesterday") is None


@pytest.mark.parametrize(
    ("href", "text", "expected"),
    [
        ("https://t.me/+14155550123", "call", Link("https://t.me/+14155550123", LinkKind.EXTERNAL)),
        (
            "tg://resolve?domain=Room_One",
            "x",
            Link("tg://resolve?domain=Room_One", LinkKind.CHANNEL, "room_one"),
        ),
        (
            "https://telegram.me/s/Room_One",
            "x",
            Link("https://telegram.me/s/Room_One", LinkKind.CHANNEL, "room_one"),
        ),
        (
            "https://t.me/Room_One/55",
            "x",
            Link("https://t.me/Room_One/55", LinkKind.CHANNEL, "room_one"),
        ),
        (
            "https://t.me/share/url?url=x",
            "x",
            Link("https://t.me/share/url?url=x", LinkKind.EXTERNAL),
        ),
        ("javascript:alert(1)", "x", None),
        ("http://[::1", "x", None),
    ],
)
def test_classify_link_edges(href: str, text: str, expected: Link | None) -> None:
    assert classify_link(href, text, page_url="https://t.me/s/x") == expected


# -- hostile input ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(st.text(), html_fragments()),
    st.sampled_from(["https://t.me/s/x", "", "::", "http://[::1"]),
)
def test_never_raises_on_arbitrary_html(html: str, page_url: str) -> None:
    page = parse_channel_page(html, page_url=page_url, observed_at=OBSERVED)
    assert isinstance(page, PreviewPage)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_never_raises_on_damaged_real_markup(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(REAL_PAGE)))
    end = data.draw(st.integers(start, min(len(REAL_PAGE), start + 400)))
    junk = data.draw(st.text(max_size=10))
    parse(REAL_PAGE[:start] + junk + REAL_PAGE[end:])


# -- every kind of medium, in real t.me/s markup and through the fixture renderer -------------


def kinds_page(bubbles: list[str]) -> str:
    """A page of hand-written message widgets (real t.me/s markup), ids 200, 201, …"""
    widgets = "".join(
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
        f'data-post="KindsRoom/{200 + n}"><div class="tgme_widget_message_bubble">{bubble}'
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        '<div class="tgme_widget_message_info short js-message_info">'
        '<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" '
        f'href="https://t.me/KindsRoom/{200 + n}"><time datetime="2024-02-18T18:27:12+00:00" '
        'class="time">18:27</time></a></span></div></div></div></div></div>'
        for n, bubble in enumerate(bubbles)
    )
    return (
        '<html><body><section class="tgme_channel_history js-message_history">'
        f"{widgets}</section></body></html>"
    )


CDN = "https://cdn4.cdn-telegram.org/file"
KIND_BUBBLES = [
    # 200: a static sticker
    '<div class="tgme_widget_message_sticker_wrap media_supported_cont" style="width:256px;">'
    '<i class="tgme_widget_message_sticker js-sticker_image" style="width:256px;background-image:'
    f'url(\'{CDN}/st.webp\')" data-webp="{CDN}/st.webp"></i></div>',
    # 201: an animated sticker: its thumbnail stands for it
    '<div class="tgme_widget_message_sticker_wrap media_supported_cont" style="width:256px;">'
    '<i class="tgme_widget_message_tgsticker js-tgsticker_image" style="width:256px">'
    '<div class="tgme_widget_message_tgsticker_image" '
    f"style=\"background-image:url('{CDN}/tg.webp')\">"
    '</div><picture class="tgme_widget_message_tgsticker_image"><source type="application/'
    f'x-tgsticker" srcset="{CDN}/a.tgs"></picture></i></div>',
    # 202: a video sticker
    '<div class="tgme_widget_message_videosticker_wrap media_supported_cont">'
    '<i class="tgme_widget_message_videosticker js-videosticker" style="width:256px">'
    f'<video class="js-videosticker_video" src="{CDN}/v.webm" preload muted autoplay loop>'
    f'<img src="{CDN}/v.webp"></video></i></div>',
    # 203: a poll
    '<div class="tgme_widget_message_poll js-poll"><div class="tgme_widget_message_poll_question"'
    ' dir="auto">오늘 어느 방?</div><div class="tgme_widget_message_poll_type">Anonymous poll</div>'
    '<div class="tgme_widget_message_poll_options"><div class="tgme_widget_message_poll_option">'
    '<div class="tgme_widget_message_poll_option_percent">60%</div><div class="tgme_widget_'
    'message_poll_option_value"><div class="tgme_widget_message_poll_option_text">겹지인방</div>'
    '<div class="tgme_widget_message_poll_option_bar" style="width:60%"></div></div></div>'
    '<div class="tgme_widget_message_poll_option"><div class="tgme_widget_message_poll_option_'
    'percent">40%</div><div class="tgme_widget_message_poll_option_value"><div class="tgme_'
    'widget_message_poll_option_text">다른 방</div></div></div></div></div>',
    # 204: a voice message
    '<a class="tgme_widget_message_voice_player js-message_voice_player" '
    'href="https://t.me/KindsRoom/204"><audio class="tgme_widget_message_voice js-message_voice" '
    f'src="{CDN}/voice.ogg" data-waveform="AAAA" preload="none"></audio>'
    '<div class="tgme_widget_message_voice_info"><time class="tgme_widget_message_voice_duration '
    'js-message_voice_duration">0:07</time></div></a>',
    # 205: an audio file, 206: another document
    '<a class="tgme_widget_message_document_wrap" href="https://t.me/KindsRoom/205">'
    '<div class="tgme_widget_message_document_icon accent_bg audio"></div><div class="tgme_widget_'
    'message_document"><div class="tgme_widget_message_document_title accent_color">Song</div>'
    '<div class="tgme_widget_message_document_extra">Band</div></div></a>',
    '<a class="tgme_widget_message_document_wrap" href="https://t.me/KindsRoom/206">'
    '<div class="tgme_widget_message_document_icon accent_bg"></div><div class="tgme_widget_'
    'message_document"><div class="tgme_widget_message_document_title accent_color">x.zip</div>'
    '<div class="tgme_widget_message_document_extra">1.2 MB</div></div></a>',
    # 207: a round video
    '<a class="tgme_widget_message_roundvideo_player js-message_roundvideo_player" '
    'href="https://t.me/KindsRoom/207"><i class="tgme_widget_message_roundvideo_thumb" '
    f'style="background-image:url(\'{CDN}/round.jpg\')"></i><div class="tgme_widget_message_'
    f'roundvideo_wrap"><video class="tgme_widget_message_roundvideo js-message_roundvideo" '
    f'src="{CDN}/round.mp4"></video></div><time class="tgme_widget_message_roundvideo_duration '
    'js-message_roundvideo_duration">0:12</time></a>',
    # 208: a location
    '<a class="tgme_widget_message_location_wrap" href="https://maps.google.com/maps?q=37.56649,'
    '126.97805&amp;ll=37.56649,126.97805&amp;z=16" target="_blank"><div class="tgme_widget_'
    'message_location" style="background-image:url(\'https://t.me/api/staticmap?center=37.56649,'
    '126.97805\')"></div><div class="tgme_widget_message_location_info"><div class="tgme_'
    'widget_message_location_point"></div></div></a>',
]
KIND_EXPECTED = {
    200: ("sticker", None, [(f"{CDN}/st.webp", "photo")]),
    201: ("sticker", None, [(f"{CDN}/tg.webp", "video_thumb")]),
    202: ("sticker", None, [(f"{CDN}/v.webp", "video_thumb")]),
    203: ("poll", None, []),
    204: ("voice", 7.0, [(f"{CDN}/voice.ogg", "audio")]),
    205: ("audio", None, []),
    206: ("document", None, []),
    207: ("video_note", 12.0, [(f"{CDN}/round.jpg", "video_thumb"), (f"{CDN}/round.mp4", "video")]),
    208: ("location", None, [("geo:37.566,126.978", "place")]),
}


def check_kinds(page: PreviewPage, expected: dict[int, tuple[str, float | None, list]]) -> None:
    for message_id, (kind, duration, urls) in expected.items():
        post = by_id(page, message_id)
        assert [(m.kind, m.ordinal, m.duration) for m in post.media] == [(kind, 0, duration)]
        assert [(u.url, u.role) for u in page.media_urls if u.message_id == message_id] == urls
    poll = next(p for p in page.posts if p.media and p.media[0].kind == "poll")
    assert poll.text == "오늘 어느 방?\n겹지인방\n다른 방"  # what the keyword matchers read
    assert poll.media[0].hash_status is HashStatus.NO_FILE
    place = next(p for p in page.posts if p.media and p.media[0].kind == "location")
    # The map link and its coordinates are neither text nor a link of the post.
    assert place.text == "" and place.links == () and "37.56" not in repr(place)


def test_real_markup_of_every_kind() -> None:
    page = parse(kinds_page(KIND_BUBBLES), page_url="https://t.me/s/KindsRoom")
    check_kinds(page, KIND_EXPECTED)


def test_rendered_markup_of_every_kind() -> None:
    kinds: list[Media] = [
        Sticker("/img/st.webp"), Sticker("/img/tg.webp", "animated", "/media/a.tgs"),
        Sticker("/img/v.webp", "video", "/media/v.webm"),
        Poll("오늘 어느 방?", ("겹지인방", "다른 방")),
        Voice("/media/voice.ogg"), Document("Song", "Band", audio=True), Document("x.zip", "1 MB"),
        RoundVideo("/img/round.jpg", "/media/round.mp4"), Location(37.56649, 126.97805),
    ]  # fmt: skip
    channel = FixtureChannel(
        "KindsRoom", 4242, "Kinds", [FixturePost(200 + n, media=m) for n, m in enumerate(kinds)]
    )
    page = parse(render_channel_page(channel, base_url=BASE), page_url=f"{BASE}/s/KindsRoom")
    served = {
        "st.webp": f"{BASE}/img/st.webp", "tg.webp": f"{BASE}/img/tg.webp",
        "v.webp": f"{BASE}/img/v.webp", "voice.ogg": f"{BASE}/media/voice.ogg",
        "round.jpg": f"{BASE}/img/round.jpg", "round.mp4": f"{BASE}/media/round.mp4",
    }  # fmt: skip
    expected = {
        message_id: (kind, duration, [(served.get(url.rsplit("/")[-1], url), role)
                                      for url, role in urls])
        for message_id, (kind, duration, urls) in KIND_EXPECTED.items()
    }  # fmt: skip
    check_kinds(page, expected)


def test_a_room_as_mention_and_button_is_one_link() -> None:
    bubble = (
        '<div class="tgme_widget_message_text js-message_text" dir="auto">백업 '
        '<a href="https://t.me/Backup_Room">@Backup_Room</a></div>'
        '<div class="tgme_widget_message_inline_keyboard">'
        '<div class="tgme_widget_message_inline_row">'
        '<a class="tgme_widget_message_inline_button url_button" href="https://t.me/backup_room">'
        '<div class="tgme_widget_message_inline_button_text">join</div></a></div></div>'
    )
    page = parse(kinds_page([bubble]), page_url="https://t.me/s/KindsRoom")
    assert by_id(page, 200).links == (
        Link("https://t.me/Backup_Room", LinkKind.MENTION, "backup_room"),
    )
