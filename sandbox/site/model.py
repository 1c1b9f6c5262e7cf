"""What the fixture site holds: channels and their posts, images, web pages, faults.

A test builds a `SiteModel`, so the test itself says what the site serves; `render.py` turns
it into t.me/s-shaped HTML and `server.py` serves it. Post text is kept structured (plain runs
and `TextLink`s, "\\n" for line breaks), so a test can state the text and links it expects
without parsing HTML, and the renderer and the parser cannot be wrong together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote


@dataclass(frozen=True)
class TextLink:
    """A link inside post text: `text` is shown, `href` is where it goes."""

    text: str
    href: str


TextPart = str | TextLink


def hashtag(tag: str) -> TextLink:
    # t.me renders hashtags as links to the channel's own search, relative to the page.
    return TextLink(f"#{tag}", f"?q={quote('#' + tag)}")


def mention(username: str) -> TextLink:
    return TextLink(f"@{username}", f"https://t.me/{username}")


def hidden_link(shown: str, href: str) -> TextLink:
    """A text link whose visible text pretends to be another address."""
    return TextLink(shown, href)


@dataclass(frozen=True)
class Photo:
    image: str
    """A site path ("/img/a.jpg", served from the model's images) or an absolute URL."""
    quote: Literal["'", '"', ""] = "'"
    """Quoting of the background-image url(): t.me uses single quotes, but not everyone does."""


@dataclass(frozen=True)
class Video:
    thumb: str
    src: str | None
    """None: Telegram omits the file when it is too big for the preview."""
    duration: str = "0:15"


@dataclass(frozen=True)
class Sticker:
    image: str
    """A static sticker's WebP, or an animated or video sticker's thumbnail picture."""
    kind: Literal["static", "animated", "video"] = "static"
    src: str | None = None
    """The TGS or WebM file of an animated or video sticker."""


@dataclass(frozen=True)
class Poll:
    question: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Voice:
    src: str
    duration: str = "0:07"


@dataclass(frozen=True)
class Document:
    """A file the preview names but does not serve (an audio file shows a note icon)."""

    title: str
    extra: str
    audio: bool = False


@dataclass(frozen=True)
class RoundVideo:
    thumb: str
    src: str | None
    duration: str = "0:12"


@dataclass(frozen=True)
class Location:
    lat: float
    long: float


Media = Photo | Video | Sticker | Poll | Voice | Document | RoundVideo | Location


@dataclass(frozen=True)
class AlbumItem:
    message_id: int
    media: Media


@dataclass(frozen=True)
class Forward:
    name: str
    username: str | None = None
    """None: forwarded from a hidden account, rendered as a name without a link."""
    message_id: int | None = None


@dataclass(frozen=True)
class Reply:
    message_id: int
    author: str
    quoted: str


@dataclass(frozen=True)
class Reaction:
    count: str
    emoji: str = "👍"
    custom_id: str | None = None
    paid: bool = False


@dataclass(frozen=True)
class LinkPreview:
    url: str
    site_name: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class FixturePost:
    id: int
    text: tuple[TextPart, ...] = ()
    date: datetime = datetime(2024, 2, 18, 12, 0, tzinfo=UTC)
    date_style: Literal["+00:00", "+03:00", "Z"] = "+00:00"
    """How the `time[datetime]` offset is written; the instant is `date` whatever the style."""
    views: str | None = "1.2K"
    edited: bool = False
    author: str | None = None
    forward: Forward | None = None
    reply: Reply | None = None
    media: Media | None = None
    album: tuple[AlbumItem, ...] = ()
    album_data_post: Literal["first", "last"] = "first"
    reactions: tuple[Reaction, ...] = ()
    link_preview: LinkPreview | None = None
    service: bool = False

    @property
    def plain_text(self) -> str:
        """The text a parser must recover."""
        return "".join(part if isinstance(part, str) else part.text for part in self.text)

    @property
    def ids(self) -> tuple[int, ...]:
        """Every message id the widget covers (an album covers one per member)."""
        return tuple(sorted({self.id, *(item.message_id for item in self.album)}))

    @property
    def data_post_id(self) -> int:
        return self.ids[-1] if self.album and self.album_data_post == "last" else self.ids[0]


@dataclass
class FixtureChannel:
    name: str
    channel_id: int
    """The bare positive channel id; `data_view_style` decides how data-view spells it."""
    title: str
    posts: list[FixturePost] = field(default_factory=list)
    description: str = ""
    subscribers: str = "12.5K"
    kind: Literal["channel", "group"] = "channel"
    """A group has no preview: /s/<name> redirects to /<name>."""
    verified: bool = False
    data_view_style: Literal["bot_api", "negative", "positive", "broken"] = "bot_api"
    rel_prev: bool = True
    more_link: bool = True
    """Whether pages carry `a.tme_messages_more` (some real pages do not)."""
    permalink_origin: str | None = "https://t.me"
    """Origin of post permalinks; None renders them relative, as a mirror would."""
    page_size: int = 20


@dataclass(frozen=True)
class Image:
    """An image the site serves, generated in memory (or given as bytes)."""

    kind: Literal["jpeg", "png", "noise", "bomb", "bytes"] = "jpeg"
    width: int = 64
    height: int = 64
    seed: int = 0
    data: bytes | None = None
    content_type: str | None = None
    """None: the true type. Set it to make the server lie about what it sends."""


def oversized_image(min_bytes: int) -> Image:
    """An incompressible PNG of at least `min_bytes` (RGB noise, ~3 bytes per pixel)."""
    side = int((min_bytes / 3) ** 0.5) + 16
    return Image(kind="noise", width=side, height=side)


def bomb_image() -> Image:
    """A small PNG declaring far more pixels than Pillow's decompression-bomb limit."""
    return Image(kind="bomb", width=20_000, height=20_000)


def image_of(data: bytes, content_type: str = "image/jpeg") -> Image:
    """An image served exactly as `data` (a golden file a test read, a synthetic picture)."""
    return Image(kind="bytes", data=data, content_type=content_type)


@dataclass(frozen=True)
class WebPage:
    title: str
    paragraphs: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    etag: str | None = '"v1"'
    last_modified: datetime | None = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Fault:
    """Answer some requests to a path with an error instead of the content.

    `on_requests` are 1-based request numbers for that path (None: every request); `path` "*"
    counts all requests to the site together.
    """

    path: str
    on_requests: frozenset[int] | None = None
    status: int = 429
    retry_after: str | None = "5"
    challenge: bool = False
    """Serve an anti-bot challenge page (a 'Just a moment…' interstitial) as the body."""


def throttle(path: str, *nth: int, retry_after: str = "5") -> Fault:
    return Fault(path, frozenset(nth) or None, status=429, retry_after=retry_after)


def challenge(path: str, *nth: int, status: int = 403) -> Fault:
    return Fault(path, frozenset(nth) or None, status=status, retry_after=None, challenge=True)


def server_error(path: str, *nth: int, status: int = 503) -> Fault:
    return Fault(path, frozenset(nth) or None, status=status, retry_after=None)


@dataclass
class SiteModel:
    """Everything the fixture site serves. Mutable: a test may change it between fetches."""

    channels: dict[str, FixtureChannel] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)
    pages: dict[str, WebPage] = field(default_factory=dict)
    raw_pages: dict[str, str] = field(default_factory=dict)
    """Path -> HTML served as is (markup a renderer would never produce, e.g. a new layout)."""
    redirects: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    delays: dict[str, float] = field(default_factory=dict)
    """Path -> seconds to hold the response (ended early by `FixtureSite.release_slow`)."""
    robots: Literal["allow", "disallow", "error", "missing"] = "allow"

    def add_channel(self, channel: FixtureChannel) -> FixtureChannel:
        self.channels[channel.name.lower()] = channel
        return channel


def numbered_posts(
    ids: list[int], *, start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
) -> list[FixturePost]:
    """Plain text posts, one an hour, for paging tests (pass ids with holes to test holes)."""
    return [
        FixturePost(id=i, text=(f"post {i}",), date=start + timedelta(hours=n), views=str(n + 1))
        for n, i in enumerate(ids)
    ]
