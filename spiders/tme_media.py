"""The media of one t.me/s message widget: a `MediaHashes` per medium, and where to fetch what.

Pure, like the rest of the parser: it records kinds, durations and the URLs of the bytes the
preview exposes; `spiders/media.py` fetches and hashes them. Kind names are the API
collector's (crawler/telegram/parse.py), so both collectors describe a post the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from crawler.hashing.keyed import normalize_place
from crawler.observations import HashStatus, MediaHashes
from spiders.tme_counters import parse_duration
from spiders.tme_markup import (
    absolute_url,
    classes,
    element_text,
    first,
    has_class,
    inside,
    permalink_id,
    split_url,
    style_url,
)


class MediaUrl(NamedTuple):
    """Where the bytes (or the value) of one medium come from, for hashing.

    (message_id, ordinal) names the `MediaHashes` in the post with that id; `role` says what
    `url` is: "photo" (the medium's own picture: a photo, a static sticker, a link preview's
    image), "audio" (a voice message's file), "video_thumb" (the poster frame of a video, a
    round video or an animated sticker), "video" (a video file, never fetched, absent when
    Telegram thinks it too big), or "place" (not fetched: a `geo:` URI, normalized, whose keyed
    hash is recorded and which is dropped like bytes are).
    """

    message_id: int
    ordinal: int
    url: str
    role: str


@dataclass(slots=True)
class Member:
    """The media of one album member (or of a plain post) while the message is parsed."""

    message_id: int
    media: list[MediaHashes]


# Outer element of each kind of medium; everything else about a medium is looked up inside it.
_PHOTO, _VIDEO = "tgme_widget_message_photo_wrap", "tgme_widget_message_video_player"
_ROUND, _VOICE = "tgme_widget_message_roundvideo_player", "tgme_widget_message_voice_player"
_STICKER = frozenset({"tgme_widget_message_sticker_wrap", "tgme_widget_message_videosticker_wrap"})
_DOCUMENT, _POLL = "tgme_widget_message_document_wrap", "tgme_widget_message_poll"
_LOCATION, _PREVIEW = "tgme_widget_message_location_wrap", "tgme_widget_message_link_preview"
_ANCHORED = frozenset({_PHOTO, _VIDEO, _ROUND})
"""Media that are `<a>` to their own permalink, so an album member is known by its id."""
_MEDIA = _ANCHORED | _STICKER | {_VOICE, _DOCUMENT, _POLL, _LOCATION, _PREVIEW}


def collect_media(
    el: etree._Element, own: list[etree._Element], message_id: int, page_url: str
) -> tuple[dict[int, Member], list[MediaUrl]]:
    """Media per message id: album members keep their own ids, from their `?single` links."""
    members: dict[int, Member] = {}
    urls: list[MediaUrl] = []
    for node in own:
        names = classes(node) & _MEDIA
        if not names or (names & _ANCHORED and node.tag != "a"):
            continue
        member_id = message_id
        if inside(node, el, {"tgme_widget_message_grouped_wrap"}):
            member_id = permalink_id(node.get("href"), page_url) or message_id
        member = members.setdefault(member_id, Member(member_id, []))
        ordinal = len(member.media)

        medium = _medium(node, names, partial(_add_url, urls, member_id, ordinal, base=page_url))
        if medium is not None:
            member.media.append(
                MediaHashes(
                    kind=medium.kind,
                    ordinal=ordinal,
                    duration=medium.duration,
                    hash_status=medium.status,
                )
            )
    return members, urls


_UrlSink = Callable[[str | None, str], None]
"""Where `_medium` hands a medium's URLs: (raw URL, role)."""


class _Medium(NamedTuple):
    kind: str
    duration: float | None = None
    status: HashStatus = HashStatus.POLICY_OFF
    """Until spiders/media.py hashes what the URLs hold (never, with hashing off)."""


def _medium(node: etree._Element, names: frozenset[str], url: _UrlSink) -> _Medium | None:
    """The medium `node` shows, its URLs handed to `url`; None when it shows none after all."""
    if _PHOTO in names:
        url(style_url(node.get("style")), "photo")
        return _Medium("photo")
    if _VIDEO in names or _ROUND in names:
        round_video = _ROUND in names
        prefix = "tgme_widget_message_roundvideo" if round_video else "tgme_widget_message_video"
        thumb = _first_with_class(node, f"{prefix}_thumb")
        url(style_url(thumb.get("style")) if thumb is not None else None, "video_thumb")
        video = first(node.iter("video"))
        url(video.get("src") if video is not None else None, "video")
        duration_class = f"{prefix}_duration" if round_video else "message_video_duration"
        return _Medium("video_note" if round_video else "video", _duration(node, duration_class))
    if names & _STICKER:
        return _sticker(node, url)
    if _VOICE in names:
        audio = first(node.iter("audio"))
        url(audio.get("src") if audio is not None else None, "audio")
        return _Medium("voice", _duration(node, "tgme_widget_message_voice_duration"))
    if _DOCUMENT in names:
        # The preview offers no document's bytes, only its name and size: kind only.
        icon = _first_with_class(node, "tgme_widget_message_document_icon")
        audio = icon is not None and has_class(icon, "audio")
        return _Medium("audio" if audio else "document")
    if _POLL in names:
        return _Medium("poll", status=HashStatus.NO_FILE)  # its words are the post's text
    if _LOCATION in names:
        url(_place(node.get("href")), "place")
        return _Medium("location")
    # A link preview: its picture, when it has one, is the site's card image.
    image = first(
        i for i in node.iter("i") if classes(i) & {"link_preview_image", "link_preview_right_image"}
    )
    picture = style_url(image.get("style")) if image is not None else None
    if picture is None:
        return None
    url(picture, "photo")
    return _Medium("link_preview")


def _sticker(node: etree._Element, url: _UrlSink) -> _Medium:
    """A static sticker is a WebP picture; an animated (TGS) or video (WebM) one is known by
    its thumbnail picture, like a video by its poster frame."""
    static = _first_with_class(node, "tgme_widget_message_sticker")
    if static is not None:
        url(static.get("data-webp") or style_url(static.get("style")), "photo")
        return _Medium("sticker")
    animated = first(
        n
        for n in node.iter()
        if has_class(n, "tgme_widget_message_tgsticker_image") and n.get("style")
    )
    if animated is not None:
        url(style_url(animated.get("style")), "video_thumb")
    else:
        poster = first(img for video in node.iter("video") for img in video.iter("img"))
        url(poster.get("src") if poster is not None else None, "video_thumb")
    return _Medium("sticker")


_POLL_WORDS = frozenset(
    {"tgme_widget_message_poll_question", "tgme_widget_message_poll_option_text"}
)


def poll_text(own: list[etree._Element]) -> str:
    """A poll's question, then each option, one per line (as the API collector writes them)."""
    poll = first(n for n in own if has_class(n, _POLL))
    if poll is None:
        return ""
    lines = [
        element_text(n).strip()
        for n in poll.iter()
        if classes(n)
        & {"tgme_widget_message_poll_question", "tgme_widget_message_poll_option_text"}
    ]
    return "\n".join(line for line in lines if line)


def _first_with_class(node: etree._Element, name: str) -> etree._Element | None:
    return first(n for n in node.iter() if has_class(n, name))


def _duration(node: etree._Element, class_name: str) -> float | None:
    time = first(t for t in node.iter("time") if has_class(t, class_name))
    return parse_duration(element_text(time) if time is not None else None)


def _place(href: str | None) -> str | None:
    """The `geo:` URI of a map link's `q=` (or `ll=`) coordinates, rounded; None if absent."""
    try:
        query = parse_qs(urlsplit(href or "").query)
    except ValueError:
        return None
    for name in ("q", "ll"):
        lat, _, long = (query.get(name) or [""])[0].partition(",")
        try:
            return normalize_place(float(lat), float(long))
        except ValueError:
            continue
    return None


def _add_url(
    urls: list[MediaUrl], message_id: int, ordinal: int, raw: str | None, role: str, base: str
) -> None:
    if raw is None:
        return
    if role == "place":
        urls.append(MediaUrl(message_id, ordinal, raw, role))
        return
    url = absolute_url(raw, base)
    parts = split_url(url) if url else None
    # Only web URLs: a data: or javascript: "image" is markup trying something, not media.
    if url and parts and parts[0] in ("http", "https"):
        urls.append(MediaUrl(message_id, ordinal, url, role))
