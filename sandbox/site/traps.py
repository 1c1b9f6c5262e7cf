"""A ready-made channel holding every markup trap, and a site model that serves it.

Tests assert against these objects, not against the HTML: `TRAP_POSTS[...]` says what a
correct parser must return for each trap.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sandbox.site.model import (
    AlbumItem,
    FixtureChannel,
    FixturePost,
    Forward,
    Image,
    LinkPreview,
    Photo,
    Reaction,
    Reply,
    SiteModel,
    TextLink,
    Video,
    hashtag,
    hidden_link,
    mention,
)

TRAP_CHANNEL_ID = 1_987_654_321


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 3, day, hour, 30, tzinfo=UTC)


def trap_posts() -> dict[str, FixturePost]:
    """Posts keyed by the trap they exercise; ids have holes (no 103, 106-109, 115)."""
    return {
        "text": FixturePost(
            id=100,
            text=(
                "Hello 👋 world\nsecond line ",
                hashtag("deepfake"),
                " ",
                mention("Some_One"),
                " see ",
                TextLink("t.me/Another_Room", "https://t.me/Another_Room"),
            ),
            views="12.5K",
            date=_at(1),
            date_style="+03:00",
        ),
        "invites": FixturePost(
            id=101,
            text=(
                TextLink("join", "https://t.me/+AbCdEf123456"),
                " ",
                TextLink("old", "https://t.me/joinchat/QwErTy987654"),
                " ",
                TextLink("folder", "https://t.me/addlist/FoLdEr42xyz"),
                " ",
                hidden_link("https://t.me/innocent", "https://evil.example/landing"),
            ),
            views="1\u202f234",
            date=_at(2),
            date_style="Z",
        ),
        "edited_signed": FixturePost(
            id=102, text=("fixed typo",), edited=True, author="Admin Kim", views="987", date=_at(3)
        ),
        "signed_edited_name": FixturePost(
            id=104, text=("not edited",), author="edited", views="1.2M", date=_at(4)
        ),
        "forward": FixturePost(
            id=105,
            text=("forwarded body",),
            forward=Forward(name="Origin Room", username="Origin_Room", message_id=77),
            date=_at(5),
        ),
        "hidden_forward": FixturePost(
            id=110, text=("from someone",), forward=Forward(name="Hidden Person"), date=_at(6)
        ),
        "reply": FixturePost(
            id=111,
            text=("the answer",),
            reply=Reply(message_id=100, author="Trap Room", quoted="the quoted question"),
            date=_at(7),
        ),
        "photo": FixturePost(
            id=112, text=("caption under photo",), media=Photo("/img/p112.jpg"), date=_at(8)
        ),
        "photo_double_quoted": FixturePost(
            id=113, media=Photo("/img/p113.jpg", quote='"'), date=_at(9)
        ),
        "photo_unquoted": FixturePost(id=114, media=Photo("/img/p114.jpg", quote=""), date=_at(10)),
        "video": FixturePost(
            id=116,
            text=("clip",),
            media=Video(thumb="/img/t116.jpg", src="/media/v116.mp4", duration="1:02:03"),
            date=_at(11),
        ),
        "video_too_big": FixturePost(
            id=117, media=Video(thumb="/img/t117.jpg", src=None, duration="0:15"), date=_at(12)
        ),
        "album": FixturePost(
            id=118,
            text=("album caption",),
            views="3.4K",
            reactions=(Reaction("5"),),
            album=(
                AlbumItem(118, Photo("/img/a118.jpg")),
                AlbumItem(
                    119, Video(thumb="/img/a119.jpg", src="/media/a119.mp4", duration="0:07")
                ),
                AlbumItem(120, Photo("/img/a120.jpg")),
            ),
            date=_at(13),
        ),
        "album_last_data_post": FixturePost(
            id=121,
            text=("second album",),
            album=(AlbumItem(121, Photo("/img/a121.jpg")), AlbumItem(122, Photo("/img/a122.jpg"))),
            album_data_post="last",
            date=_at(14),
        ),
        "reactions": FixturePost(
            id=123,
            text=("react",),
            reactions=(
                Reaction("1.2K", emoji="👍"),
                Reaction("45", emoji="😂", custom_id="5368324170671202286"),
                Reaction("7", paid=True),
            ),
            date=_at(15),
        ),
        "link_preview": FixturePost(
            id=124,
            text=(TextLink("https://news.example/a", "https://news.example/a"),),
            link_preview=LinkPreview(
                "https://news.example/a", "News", "Preview title", "Preview description"
            ),
            date=_at(16),
        ),
        "service": FixturePost(id=125, text=("Channel photo updated",), service=True, date=_at(17)),
    }


def trap_channel(**overrides: Any) -> FixtureChannel:
    channel = FixtureChannel(
        name="TrapRoom",
        channel_id=TRAP_CHANNEL_ID,
        title="Trap Room",
        description="Deepfake rooms watch\nsecond line",
        subscribers="12.5K",
        verified=True,
        posts=list(trap_posts().values()),
    )
    return replace(channel, **overrides)


def trap_site_model() -> SiteModel:
    """The trap channel plus every image its posts show, served from the site."""
    model = SiteModel()
    model.add_channel(trap_channel())
    for seed, path in enumerate(
        ["/img/p112.jpg", "/img/p113.jpg", "/img/p114.jpg", "/img/t116.jpg", "/img/t117.jpg",
         "/img/a118.jpg", "/img/a119.jpg", "/img/a120.jpg", "/img/a121.jpg", "/img/a122.jpg",
         "/img/link-preview.jpg"]
    ):  # fmt: skip
        model.images[path] = Image(seed=seed)
    return model
