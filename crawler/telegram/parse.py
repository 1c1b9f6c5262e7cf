"""Telethon TL objects in, observations out: pure functions, no client, no I/O.

Media come out as metadata plus a `MediaPlan` naming the TL file to fetch; `media.py` does the
fetching and hashing. Entity offsets are UTF-16 code units (Telegram's), not Python indices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from telethon.tl import types

from crawler.hashing.keyed import normalize_phone, normalize_place
from crawler.observations import (
    ChannelSnapshot,
    CollectorKind,
    Counter,
    ForwardRef,
    HashStatus,
    Link,
    LinkKind,
    MediaHashes,
    Platform,
    Post,
    SourceKey,
)
from crawler.tme_links import USERNAME, classify_url, one_per_target

# Media kind names chanwatch records for Telegram files (the `media.kind` column).
PHOTO, IMAGE, VIDEO, VIDEO_NOTE, ANIMATION = "photo", "image", "video", "video_note", "animation"
AUDIO, VOICE, STICKER, DOCUMENT = "audio", "voice", "sticker", "document"
VIDEO_THUMBNAIL, THUMBNAIL, LINK_PREVIEW = "video_thumbnail", "thumbnail", "link_preview"
POLL, DICE, CONTACT = "poll", "dice", "contact"
LOCATION, LIVE_LOCATION, VENUE = "location", "live_location", "venue"
STREAMED_KINDS = frozenset({VIDEO, VIDEO_NOTE, ANIMATION, AUDIO, VOICE, DOCUMENT})
"""Kinds hashed while streaming (never held whole) up to telegram.video_max_bytes."""


@dataclass(frozen=True, slots=True)
class MediaPlan:
    """One medium: its metadata, the TL file to fetch and which thumbnail (if any), or, for a
    contact or a place, the normalized value to hash with the installation's key. The value is
    the doxxed detail itself: it lives only in this plan, never in an observation."""

    meta: MediaHashes
    file: types.Photo | types.Document | None = None
    thumb: str | None = None
    value: str | None = None

    @property
    def streamed(self) -> bool:
        return self.meta.kind in STREAMED_KINDS


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    post: Post
    media: tuple[MediaPlan, ...] = ()


def source_key(channel_id: int, username: str | None) -> SourceKey:
    return SourceKey(
        Platform.TELEGRAM, platform_id=str(channel_id), username=(username or "").lower() or None
    )


def channel_snapshot(
    chat: types.Channel, full: types.ChannelFull | None, observed_at: datetime
) -> ChannelSnapshot:
    flags = {
        name
        for name in ("verified", "scam", "fake", "restricted", "megagroup", "broadcast")
        if getattr(chat, name, False)
    }
    participants = (full.participants_count if full else None) or chat.participants_count
    linked = full.linked_chat_id if full else None
    return ChannelSnapshot(
        source=source_key(chat.id, chat.username),
        observed_at=observed_at,
        username=(chat.username or "").lower() or None,
        title=chat.title,
        about=full.about if full else None,
        participants=Counter(participants) if participants is not None else None,
        flags=frozenset(flags),
        linked_chat_id=str(linked) if linked else None,
        created_at=chat.date,
    )


def parse_message(
    message: types.Message | types.MessageService,
    source: SourceKey,
    observed_at: datetime,
    chats: Mapping[int, types.Channel] | None = None,
) -> ParsedMessage:
    """A post and the media to hash. `chats` (from the same answer) names forward origins."""
    url = f"https://t.me/{source.username}/{message.id}" if source.username else None
    reply_to = message.reply_to
    common = {
        "source": source,
        "message_id": message.id,
        "collector": CollectorKind.TELEGRAM_API,
        "observed_at": observed_at,
        "url": url,
        "posted_at": message.date,
        "reply_to": reply_to.reply_to_msg_id
        if isinstance(reply_to, types.MessageReplyHeader)
        else None,
    }
    if isinstance(message, types.MessageService):
        # A room's title changes and creation are history staff search for; other actions are
        # recorded by kind only.
        text = getattr(message.action, "title", None) or ""
        return ParsedMessage(Post(**common, text=text, is_service=True))
    text = message.message or ""
    links_text, entities = text, message.entities or ()
    if isinstance(message.media, types.MessageMediaPoll):
        # A poll's words are what the room says: the keyword matchers read them as text.
        text = "\n".join(part for part in (text, poll_text(message.media.poll)) if part)
    views = Counter(message.views) if message.views is not None else None
    forwards = Counter(message.forwards) if message.forwards is not None else None
    plans = media_plans(message.media)
    post = Post(
        **common,
        edited_at=message.edit_date,
        edited=message.edit_date is not None,
        text=text,
        author=message.post_author,
        views=views,
        forwards=forwards,
        replies=Counter(message.replies.replies) if message.replies else None,
        reactions=reactions(message.reactions),
        fwd_from=forward_ref(message.fwd_from, chats or {}),
        grouped_id=message.grouped_id,
        media=tuple(plan.meta for plan in plans),
        links=message_links(links_text, entities, message.media, message.reply_markup),
    )
    return ParsedMessage(post, tuple(plans))


def reactions(value: types.MessageReactions | None) -> tuple[tuple[str, int], ...]:
    if value is None:
        return ()
    counts: dict[str, int] = {}
    for result in value.results:
        reaction = result.reaction
        if isinstance(reaction, types.ReactionEmoji):
            key = reaction.emoticon
        elif isinstance(reaction, types.ReactionCustomEmoji):
            key = f"custom:{reaction.document_id}"
        else:
            key = type(reaction).__name__.removeprefix("Reaction").lower()
        counts[key] = counts.get(key, 0) + result.count
    return tuple(counts.items())


def forward_ref(
    header: types.MessageFwdHeader | None, chats: Mapping[int, types.Channel]
) -> ForwardRef | None:
    if header is None:
        return None
    origin = header.from_id
    if isinstance(origin, types.PeerChannel):
        chat = chats.get(origin.channel_id)
        username = getattr(chat, "username", None)
        return ForwardRef(
            source_id=str(origin.channel_id),
            username=username.lower() if username else None,
            platform_id=header.channel_post,
            date=header.date,
            name=header.post_author or getattr(chat, "title", None),
        )
    # A user or a hidden sender: only the name Telegram shows is known.
    return ForwardRef(date=header.date, name=header.from_name or header.post_author)


def poll_text(poll: types.Poll) -> str:
    """The question, then each option, one per line (as the t.me/s parser reads them)."""
    lines = [_plain(poll.question), *(_plain(answer.text) for answer in poll.answers)]
    return "\n".join(line.strip() for line in lines if line.strip())


def _plain(value: object) -> str:
    # Layer 186 made poll texts TextWithEntities; older answers were plain strings.
    text = getattr(value, "text", value)
    return text if isinstance(text, str) else ""


# -- links --------------------------------------------------------------------------------------


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring at a Telegram entity's offset and length (UTF-16 code units)."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def message_links(
    text: str,
    entities: Iterable[types.TypeMessageEntity],
    media: object = None,
    markup: object = None,
) -> tuple[Link, ...]:
    """Links in reading order, then the web preview's and the buttons', one per target. A
    `text_url` records its href, never the text shown: hidden links showing one address and
    leading elsewhere are a common evasion, and so are "join the backup room" URL buttons."""
    found: list[Link | None] = [_entity_link(text, entity) for entity in entities]
    if isinstance(media, types.MessageMediaWebPage) and isinstance(media.webpage, types.WebPage):
        found.append(classify_url(media.webpage.url))
    if isinstance(markup, types.ReplyInlineMarkup):
        for row in markup.rows:
            for button in row.buttons:
                url = getattr(getattr(button, "type", None), "url", None)
                if isinstance(url, str):
                    found.append(classify_url(url))
    return one_per_target(found)


def _entity_link(text: str, entity: types.TypeMessageEntity) -> Link | None:
    if isinstance(entity, types.MessageEntityTextUrl):
        return classify_url(entity.url)
    shown = utf16_slice(text, entity.offset, entity.length)
    if isinstance(entity, types.MessageEntityUrl):
        return classify_url(shown)
    if isinstance(entity, types.MessageEntityMention):
        name = shown.removeprefix("@")
        if USERNAME.fullmatch(name):
            name = name.lower()
            return Link(url=f"https://t.me/{name}", kind=LinkKind.MENTION, target=name)
        return None
    if isinstance(entity, types.MessageEntityHashtag | types.MessageEntityCashtag):
        return Link(url=shown, kind=LinkKind.HASHTAG, target=shown)
    return None


# -- media --------------------------------------------------------------------------------------


def media_plans(media: object) -> list[MediaPlan]:
    """What to record and hash for a message's media: photos, documents (a video's or an
    animated sticker's largest thumbnail too), a link preview's picture, and the kinds without
    a file: polls and dice by kind, contacts and places by kind and keyed value."""
    if isinstance(media, types.MessageMediaPhoto) and isinstance(media.photo, types.Photo):
        return [_photo_plan(media.photo)]
    if isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        return _document_plans(media.document)
    if isinstance(media, types.MessageMediaWebPage):
        photo = getattr(media.webpage, "photo", None)
        return [_photo_plan(photo, LINK_PREVIEW)] if isinstance(photo, types.Photo) else []
    if isinstance(media, types.MessageMediaPoll):
        return [_no_file(POLL)]
    if isinstance(media, types.MessageMediaDice):
        return [_no_file(DICE)]
    if isinstance(media, types.MessageMediaContact):
        return [_no_file(CONTACT, normalize_phone(media.phone_number or ""))]
    place_kind = _PLACE_KINDS.get(type(media))
    if place_kind is not None:
        geo = getattr(media, "geo", None)
        place = normalize_place(geo.lat, geo.long) if isinstance(geo, types.GeoPoint) else None
        return [_no_file(place_kind, place)]
    return []


_PLACE_KINDS = {
    types.MessageMediaGeo: LOCATION,
    types.MessageMediaGeoLive: LIVE_LOCATION,
    types.MessageMediaVenue: VENUE,
}


def _no_file(kind: str, value: str | None = None) -> MediaPlan:
    # Venue titles and addresses, contact names and vCards are never read: a doxxed detail is
    # kept only as the keyed hash of its number or place (crawler/telegram/media.py).
    return MediaPlan(MediaHashes(kind=kind, hash_status=HashStatus.NO_FILE), value=value)


def _largest(sizes: Iterable[object]) -> tuple[str, int, int, int] | None:
    """(type, width, height, bytes) of the largest downloadable size; inline sizes are skipped."""
    best = None
    for size in sizes:
        if isinstance(size, types.PhotoSize):
            candidate = (size.type, size.w, size.h, size.size)
        elif isinstance(size, types.PhotoSizeProgressive) and size.sizes:
            candidate = (size.type, size.w, size.h, max(size.sizes))
        else:
            continue
        if best is None or candidate[1] * candidate[2] > best[1] * best[2]:
            best = candidate
    return best


def _photo_plan(photo: types.Photo, kind: str = PHOTO) -> MediaPlan:
    largest = _largest(photo.sizes)
    _type, width, height, size = largest if largest else ("", None, None, None)
    meta = MediaHashes(
        kind=kind, mime="image/jpeg", size=size, width=width, height=height,
        file_id=str(photo.id),
    )  # fmt: skip
    return MediaPlan(meta, photo)


def _document_plans(document: types.Document) -> list[MediaPlan]:
    kind, width, height, duration = _document_kind(document)
    meta = MediaHashes(
        kind=kind, mime=document.mime_type, size=document.size, width=width, height=height,
        duration=duration, file_id=str(document.id),
    )  # fmt: skip
    plans = [MediaPlan(meta, document)]
    # A static sticker is a WebP picture and gets its PDQ itself; an animated (TGS) or video
    # (WebM) sticker is known visually by its thumbnail, as a video is by its poster frame.
    picture_sticker = kind == STICKER and (document.mime_type or "").startswith("image/")
    if kind in (VIDEO, VIDEO_NOTE, ANIMATION) or (kind == STICKER and not picture_sticker):
        thumb = _largest(document.thumbs or ())
        if thumb is not None:
            thumb_type, thumb_w, thumb_h, thumb_size = thumb
            thumb_meta = MediaHashes(
                kind=THUMBNAIL if kind == STICKER else VIDEO_THUMBNAIL, ordinal=1,
                mime="image/webp" if kind == STICKER else "image/jpeg", size=thumb_size,
                width=thumb_w, height=thumb_h, file_id=f"{document.id}:{thumb_type}",
            )  # fmt: skip
            plans.append(MediaPlan(thumb_meta, document, thumb=thumb_type))
    return plans


def _document_kind(document: types.Document) -> tuple[str, int | None, int | None, float | None]:
    """(kind, width, height, duration) from a document's attributes and MIME type."""
    kind, width, height, duration = None, None, None, None
    for attr in document.attributes:
        if isinstance(attr, types.DocumentAttributeVideo):
            kind = kind or (VIDEO_NOTE if attr.round_message else VIDEO)
            width, height, duration = attr.w, attr.h, float(attr.duration)
        elif isinstance(attr, types.DocumentAttributeAnimated):
            kind = kind if kind == STICKER else ANIMATION
        elif isinstance(attr, types.DocumentAttributeSticker):
            kind = STICKER  # a video sticker carries a video attribute too: it is a sticker
        elif isinstance(attr, types.DocumentAttributeAudio):
            kind = kind or (VOICE if attr.voice else AUDIO)
            duration = float(attr.duration)
        elif isinstance(attr, types.DocumentAttributeImageSize):
            width, height = attr.w, attr.h
    if kind is None:
        mime = (document.mime_type or "").lower()
        kind = IMAGE if mime.startswith("image/") and mime != "image/svg+xml" else DOCUMENT
    return kind, width, height, duration
