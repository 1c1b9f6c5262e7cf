"""A synthetic world of fictional Korean rooms, served by the fake DC and the fixture site.

It plays, in miniature, how the 2024 deepfake rooms behaved: rooms advertise each other with
disguised vocabulary (dots, spacing, initial consonants, zero-width characters), pass invite
links around, get renamed, get taken down and re-created under their old username (a new
channel id) or under a new one that only their adverts lead to, and re-post a banked picture
mirrored. Every name, title and text is invented; the vocabulary is room advertising only; the
pictures are generated shapes (sandbox/pictures.py).

`build_world(now)` gives the first pass's state; `advance()` applies the next pass's changes to
the fake DC's `World` and the site's `SiteModel` in place, so the peers serving them see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count

from telethon.tl import types

from sandbox.pictures import mirrored, synthetic_picture
from sandbox.site import (
    FixtureChannel,
    FixturePost,
    Photo,
    SiteModel,
    WebPage,
    image_of,
    mention,
)
from sandbox.site.model import TextLink, TextPart
from sandbox.telegram_dc import Channel, World

INVITE = "https://t.me/+Qw3rTyUi0pAsDfGh"
"""An invite link to a private room the adverts keep passing around (never followed)."""
NEW_NAME = "region_talk_new"
"""Where `region_talk` moves after its takedown: on no watchlist, found through its adverts."""
PREVIEW_ROOM = "synth_ads_board"
HUB_PATH = "/hub"
BANKED = ("banked-a", "banked-b")
"""Pictures whose hashes make the demo bank: A by PDQ, B by SHA-256."""


@dataclass(frozen=True)
class Mention:
    username: str


@dataclass(frozen=True)
class Url:
    url: str


Part = str | Mention | Url


def telegram_text(parts: tuple[Part, ...]) -> tuple[str, list[types.TypeMessageEntity]]:
    """Message text and the entities Telegram would attach (offsets in UTF-16 code units)."""
    text, entities = "", []
    for part in parts:
        shown = part if isinstance(part, str) else _shown(part)
        offset, length = _utf16_len(text), _utf16_len(shown)
        if isinstance(part, Mention):
            entities.append(types.MessageEntityMention(offset, length))
        elif isinstance(part, Url):
            entities.append(types.MessageEntityUrl(offset, length))
        text += shown
    return text, entities


def preview_text(parts: tuple[Part, ...]) -> tuple[TextPart, ...]:
    """The same text as the t.me/s preview renders it."""
    rendered: list[TextPart] = []
    for part in parts:
        if isinstance(part, Mention):
            rendered.append(mention(part.username))
        elif isinstance(part, Url):
            rendered.append(TextLink(part.url, part.url))
        else:
            rendered.append(part)
    return tuple(rendered)


def _shown(part: Mention | Url) -> str:
    return f"@{part.username}" if isinstance(part, Mention) else part.url


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class DemoWorld:
    """The world's state and the handles the demo needs: rooms by role, pictures by name."""

    now: datetime
    telegram: World = field(default_factory=World)
    site: SiteModel = field(default_factory=SiteModel)
    pictures: dict[str, bytes] = field(default_factory=dict)
    rooms: dict[str, Channel] = field(default_factory=dict)
    passes: int = 1
    _ids: dict[int, count[int]] = field(default_factory=dict)

    # -- building blocks --------------------------------------------------------------------

    def post(self, room: Channel, *parts: Part, hours_ago: float = 1.0) -> int:
        text, entities = telegram_text(parts)
        msg_id = self._next_id(room)
        self.telegram.add_message(
            room, msg_id, text, date=self._at(hours_ago), entities=entities or None,
            views=120 + 7 * msg_id,
        )  # fmt: skip
        return msg_id

    def post_picture(self, room: Channel, name: str, caption: str, hours_ago: float = 1.0) -> int:
        msg_id = self._next_id(room)
        jpeg = self.pictures[name]
        self.telegram.add_photo(
            room, msg_id, jpeg, caption, date=self._at(hours_ago), size=(640, 480),
            views=80 + msg_id,
        )  # fmt: skip
        return msg_id

    def preview_post(
        self, *parts: Part, hours_ago: float = 1.0, picture: str | None = None
    ) -> None:
        channel = self.site.channels[PREVIEW_ROOM]
        post_id = len(channel.posts) + 1
        media = None
        if picture is not None:
            self.site.images[f"/img/{picture}.jpg"] = image_of(self.pictures[picture])
            media = Photo(f"/img/{picture}.jpg")
        channel.posts.append(
            FixturePost(id=post_id, text=preview_text(parts), date=self._at(hours_ago),
                        views=f"{1 + post_id * 0.3:.1f}K", media=media)
        )  # fmt: skip

    def _next_id(self, room: Channel) -> int:
        return next(self._ids.setdefault(room.id, count(1)))

    def _at(self, hours_ago: float) -> datetime:
        return self.now - timedelta(hours=hours_ago)

    # -- the passes -------------------------------------------------------------------------

    def advance(self, now: datetime) -> None:
        """Apply what happens between this pass and the next, which runs at `now`."""
        self.now = now
        self.passes += 1
        if self.passes == 2:
            _second_pass(self)
        else:
            _later_pass(self, self.passes)


def build_world(now: datetime) -> DemoWorld:
    """The world as the first crawl pass finds it."""
    world = DemoWorld(now=now)
    world.pictures = {
        "banked-a": synthetic_picture(101),
        "banked-b": synthetic_picture(202),
        "benign-c": synthetic_picture(303),
        "benign-d": synthetic_picture(404),
    }
    world.pictures["banked-a-mirrored"] = mirrored(world.pictures["banked-a"])
    tg = world.telegram
    notice = world.rooms["notice"] = tg.add_channel(
        "gyeopjiin_notice", "겹지인 공지방", about="입장 문의는 관리자 DM", participants_count=4210
    )
    archive = world.rooms["archive"] = tg.add_channel(
        "hapsung_archive", "합성 자료방", about="백업 주소는 공지 참고", participants_count=1830
    )
    lounge = world.rooms["lounge"] = tg.add_channel(
        "jiin_lounge", "지인 라운지", participants_count=960
    )
    region = world.rooms["region"] = tg.add_channel(
        "region_talk", "지역 겹지인 모임", participants_count=2750
    )

    world.post(notice, "오늘 밤 지.인.능.욕 방 새로 엽니다. 입장은 링크로: ", Url(INVITE),
               hours_ago=30)  # fmt: skip
    world.post(notice, "겹\u200b지인방 공지: 학교별 방 정리 중", hours_ago=20)
    world.post(notice, "ㅈㅇㄴㅇ방 주소 바뀜 → ", Url(INVITE), hours_ago=10)
    world.post(notice, "오늘 공지는 여기까지입니다", hours_ago=5)

    world.post_picture(archive, "banked-a", "자료 1", hours_ago=26)
    world.post_picture(archive, "banked-b", "자료 2", hours_ago=25)
    world.post_picture(archive, "benign-c", "풍경 사진", hours_ago=24)
    world.post(archive, "합성방 2호 오픈. 문의는 갠텔로", hours_ago=12)

    world.post(lounge, "라운지 규칙: 초대 링크 외부 공유 금지 ", Url(INVITE), hours_ago=28)
    world.post(lounge, "지 인 능 욕 방 가려면 공지방 확인 ", Mention("gyeopjiin_notice"),
               hours_ago=18)  # fmt: skip
    world.post(lounge, "이 글은 나중에 고쳐집니다", hours_ago=9)
    world.post(lounge, "이 글은 곧 지워집니다", hours_ago=8)

    world.post(region, "지역방 오픈 기념 공지", hours_ago=40)
    world.post(region, "겹지인 말고 지역 이야기만", hours_ago=15)

    world.site.add_channel(FixtureChannel(
        name=PREVIEW_ROOM, channel_id=1_990_000_101, title="합성 광고판",
        description="광고 문의 받습니다", subscribers="3.1K",
    ))  # fmt: skip
    world.preview_post("딥.페.이.크.방 홍보 받습니다, 문의 ", Mention("gyeopjiin_notice"),
                       hours_ago=22)  # fmt: skip
    world.preview_post("광고 단가표는 고정글 참고", hours_ago=6, picture="banked-b")
    world.site.pages[HUB_PATH] = WebPage(
        title="방 목록 허브",
        paragraphs=("이번 주 방 목록", "겹지인방 · 공지방 · 자료방"),
        links=("https://t.me/gyeopjiin_notice", "https://t.me/hapsung_archive"),
        etag='"hub-1"',
        last_modified=now - timedelta(days=1),
    )
    return world


def _second_pass(world: DemoWorld) -> None:
    """Renames, a takedown re-created under its name, one moved to a new name, edits,
    deletions, a mirrored re-post, and the hub page rewritten."""
    tg, rooms = world.telegram, world.rooms
    notice, lounge = rooms["notice"], rooms["lounge"]
    notice.username, notice.title = "gyeopjiin_notice2", "겹지인 공지방 2"

    tg.remove_channel(rooms["archive"])
    reborn = rooms["archive"] = tg.add_channel(
        "hapsung_archive", "합성 자료방 (백업)", about="신고당해서 새로 팠습니다"
    )
    world.post(reborn, "백업방입니다. 자료는 다시 올립니다", hours_ago=0.5)
    world.post_picture(reborn, "benign-d", "새 풍경", hours_ago=0.4)

    tg.remove_channel(rooms["region"])
    moved = rooms["region"] = tg.add_channel(NEW_NAME, "지역 겹지인 모임 (새 주소)")
    world.post(moved, "새 주소로 옮겼습니다", hours_ago=0.5)
    world.post(notice, "지역방 새 주소: ", Mention(NEW_NAME), hours_ago=0.5)
    world.post(lounge, "지역방 이사했습니다 → ", Url(f"https://t.me/{NEW_NAME}"), hours_ago=0.4)
    world.preview_post("지역방 새 주소 ", Mention(NEW_NAME), hours_ago=0.3)

    tg.edit_message(lounge, 3, "이 글은 고쳐졌습니다: 겹지인방 주소는 공지 참고", world.now)
    tg.delete_message(lounge, 4)
    world.post_picture(lounge, "banked-a-mirrored", "다시 올림", hours_ago=0.2)

    world.site.pages[HUB_PATH] = WebPage(
        title="방 목록 허브",
        paragraphs=("이번 주 방 목록 (갱신)", "겹지인방 · 공지방 2 · 자료방 백업 · 지역방 새 주소"),
        links=(
            "https://t.me/gyeopjiin_notice2",
            "https://t.me/hapsung_archive",
            f"https://t.me/{NEW_NAME}",
        ),
        etag='"hub-2"',
        last_modified=world.now,
    )


def _later_pass(world: DemoWorld, number: int) -> None:
    """While the demo keeps running: each live watched room posts again, the hub is updated."""
    for key in ("notice", "lounge", "archive"):
        world.post(world.rooms[key], f"{number}번째 정기 공지", hours_ago=0)
    page = world.site.pages[HUB_PATH]
    world.site.pages[HUB_PATH] = WebPage(
        title=page.title,
        paragraphs=(*page.paragraphs[:2], f"{number}차 갱신"),
        links=page.links,
        etag=f'"hub-{number}"',
        last_modified=world.now,
    )
