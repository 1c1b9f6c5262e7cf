"""HTML shaped like t.me's: the /s/ preview with its traps, landing pages, ordinary pages.

The markup follows real t.me/s pages (class names, nesting, attribute forms), including the
parts a parser trips on: the quoted reply text is a `tgme_widget_message_text` placed before
the post's own; media captions sit one wrapper deeper; emoji are `<i class="emoji"><b>`;
hidden links show one address and go to another; link previews carry their own image;
scripts contain message-like markup; `data-view` is unpadded base64url JSON.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, timedelta, timezone
from html import escape

from sandbox.site.model import (
    AlbumItem,
    Document,
    FixtureChannel,
    FixturePost,
    Forward,
    LinkPreview,
    Location,
    Media,
    Photo,
    Poll,
    Reaction,
    Reply,
    RoundVideo,
    Sticker,
    TextLink,
    TextPart,
    Video,
    Voice,
)


def _a(value: str) -> str:
    return escape(value, quote=True)


def _bg(url: str, quote: str = "'") -> str:
    return f"background-image:url({quote}{url}{quote})"


def _abs(base_url: str, path: str) -> str:
    return path if "://" in path or path.startswith("//") else f"{base_url}{path}"


def data_view(channel: FixtureChannel, message_id: int) -> str:
    """`data-view` as t.me writes it: base64url JSON without padding."""
    if channel.data_view_style == "broken":
        return "!!not*base64"
    cid = channel.channel_id
    c = {"bot_api": -(10**12 + cid), "negative": -cid, "positive": cid}[channel.data_view_style]
    payload = {"c": c, "p": f"{message_id}g", "t": 1708291632, "h": "a7bc119b0548dfff33"}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF


def _emoji(char: str) -> str:
    code = char.encode().hex().upper()
    return (
        f'<i class="emoji" style="{_bg(f"//telegram.org/img/emoji/40/{code}.png")}">'
        f"<b>{escape(char)}</b></i>"
    )


def render_text(parts: tuple[TextPart, ...]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, TextLink):
            out.append(_text_link(part))
            continue
        for char in part:
            if char == "\n":
                out.append("<br/>")
            elif _is_emoji(char):
                out.append(_emoji(char))
            else:
                out.append(escape(char, quote=False))
    return "".join(out)


def _text_link(link: TextLink) -> str:
    text = escape(link.text, quote=False)
    if link.text.startswith(("#", "$", "@")):
        return f'<a href="{_a(link.href)}">{text}</a>'
    if link.text != link.href:
        # Telegram's own warning for text links whose text is not their address.
        confirm = "return confirm('Open this link?\\n\\n'+this.href);"
        return (
            f'<a href="{_a(link.href)}" target="_blank" rel="noopener" '
            f'onclick="{_a(confirm)}">{text}</a>'
        )
    return f'<a href="{_a(link.href)}" target="_blank" rel="noopener">{text}</a>'


def _datetime_attr(post: FixturePost) -> str:
    when = post.date.astimezone(UTC)
    if post.date_style == "Z":
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if post.date_style == "+03:00":
        return when.astimezone(timezone(timedelta(hours=3))).isoformat()
    return when.isoformat()


def _permalink(channel: FixtureChannel, message_id: int, single: bool = False) -> str:
    origin = channel.permalink_origin or ""
    return f"{origin}/{channel.name}/{message_id}" + ("?single" if single else "")


def _forward(forward: Forward) -> str:
    name = f'<span dir="auto">{escape(forward.name)}</span>'
    if forward.username is None:
        inner = f'<span class="tgme_widget_message_forwarded_from_name" dir="auto">{name}</span>'
    else:
        href = f"https://t.me/{forward.username}" + (
            f"/{forward.message_id}" if forward.message_id else ""
        )
        inner = f'<a class="tgme_widget_message_forwarded_from_name" href="{_a(href)}">{name}</a>'
    return (
        f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from {inner}</div>'
    )


def _reply(channel: FixtureChannel, reply: Reply) -> str:
    return (
        f'<a class="tgme_widget_message_reply" href="{_a(_permalink(channel, reply.message_id))}">'
        '<div class="tgme_widget_message_author accent_color">'
        f'<span class="tgme_widget_message_author_name" dir="auto">{escape(reply.author)}</span>'
        "</div>"
        '<div class="tgme_widget_message_text js-message_reply_text" dir="auto">'
        f"{escape(reply.quoted)}</div></a>"
    )


def _photo(channel: FixtureChannel, base_url: str, photo: Photo, href: str, grouped: bool) -> str:
    style = _bg(_abs(base_url, photo.image), photo.quote)
    if grouped:
        return (
            '<a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" '
            f'style="left:0px;top:0px;width:200px;height:200px;{_a(style)}" data-ratio="1" '
            f'href="{_a(href)}"><div class="grouped_media_helper" style="left:0;top:0">'
            '<div class="tgme_widget_message_photo grouped_media"></div></div></a>'
        )
    return (
        f'<a class="tgme_widget_message_photo_wrap {channel.channel_id} blured" '
        f'href="{_a(href)}" style="width:800px;{_a(style)}">'
        '<div class="tgme_widget_message_photo" style="padding-top:56.25%"></div></a>'
    )


def _video(base_url: str, video: Video, href: str, grouped: bool) -> str:
    extra = " grouped_media_wrap blured" if grouped else " not_supported"
    if video.src is not None:
        body = (
            '<div class="tgme_widget_message_video_wrap">'
            f'<video class="tgme_widget_message_video js-message_video" '
            f'src="{_a(_abs(base_url, video.src))}" width="100%" height="100%"></video></div>'
        )
    else:
        body = (
            '<div class="message_media_not_supported_wrap">'
            '<div class="message_media_not_supported">'
            '<div class="message_media_not_supported_label">Media is too big</div>'
            '<span class="message_media_view_in_telegram">VIEW IN TELEGRAM</span></div></div>'
        )
    return (
        f'<a class="tgme_widget_message_video_player{extra} js-message_video_player" '
        f'href="{_a(href)}">'
        f'<i class="tgme_widget_message_video_thumb" '
        f'style="{_a(_bg(_abs(base_url, video.thumb)))}"></i>{body}'
        '<div class="message_video_play"></div>'
        '<time class="message_video_duration js-message_video_duration">'
        f"{escape(video.duration)}</time></a>"
    )


def _sticker(base_url: str, sticker: Sticker) -> str:
    image = _abs(base_url, sticker.image)
    src = _abs(base_url, sticker.src or "")
    if sticker.kind == "static":
        inner = (
            f'<i class="tgme_widget_message_sticker js-sticker_image" '
            f'style="width:256px;{_a(_bg(image))}" data-webp="{_a(image)}"></i>'
        )
        return f'<div class="tgme_widget_message_sticker_wrap media_supported_cont">{inner}</div>'
    if sticker.kind == "animated":
        inner = (
            '<i class="tgme_widget_message_tgsticker js-tgsticker_image" style="width:256px">'
            f'<div class="tgme_widget_message_tgsticker_image" style="{_a(_bg(image))}"></div>'
            '<picture class="tgme_widget_message_tgsticker_image">'
            f'<source type="application/x-tgsticker" srcset="{_a(src)}"></picture></i>'
        )
        return f'<div class="tgme_widget_message_sticker_wrap media_supported_cont">{inner}</div>'
    return (
        '<div class="tgme_widget_message_videosticker_wrap media_supported_cont">'
        '<i class="tgme_widget_message_videosticker js-videosticker" style="width:256px">'
        f'<video class="js-videosticker_video" src="{_a(src)}" width="100%" height="100%" '
        f'preload muted autoplay loop playsinline><img src="{_a(image)}"></video></i></div>'
    )


def _poll(poll: Poll) -> str:
    options = "".join(
        '<div class="tgme_widget_message_poll_option">'
        '<div class="tgme_widget_message_poll_option_percent">0%</div>'
        '<div class="tgme_widget_message_poll_option_value">'
        f'<div class="tgme_widget_message_poll_option_text" dir="auto">{escape(option)}</div>'
        '<div class="tgme_widget_message_poll_option_bar" style="width:0%"></div></div></div>'
        for option in poll.options
    )
    return (
        '<div class="tgme_widget_message_poll js-poll">'
        f'<div class="tgme_widget_message_poll_question" dir="auto">{escape(poll.question)}</div>'
        '<div class="tgme_widget_message_poll_type">Anonymous poll</div>'
        f'<div class="tgme_widget_message_poll_options">{options}</div></div>'
    )


def _voice(base_url: str, voice: Voice, href: str) -> str:
    src = _abs(base_url, voice.src)
    return (
        f'<a class="tgme_widget_message_voice_player js-message_voice_player" href="{_a(href)}">'
        f'<audio class="tgme_widget_message_voice js-message_voice" src="{_a(src)}" '
        f'data-ogg="{_a(src)}" preload="none"></audio>'
        '<div class="tgme_widget_message_voice_info">'
        '<time class="tgme_widget_message_voice_duration js-message_voice_duration">'
        f"{escape(voice.duration)}</time></div></a>"
    )


def _document(document: Document, href: str) -> str:
    icon = "accent_bg audio" if document.audio else "accent_bg"
    return (
        f'<a class="tgme_widget_message_document_wrap" href="{_a(href)}">'
        f'<div class="tgme_widget_message_document_icon {icon}"></div>'
        '<div class="tgme_widget_message_document">'
        '<div class="tgme_widget_message_document_title accent_color" dir="auto">'
        f"{escape(document.title)}</div>"
        '<div class="tgme_widget_message_document_extra" dir="auto">'
        f"{escape(document.extra)}</div></div></a>"
    )


def _round_video(base_url: str, video: RoundVideo, href: str) -> str:
    body = ""
    if video.src is not None:
        body = (
            '<div class="tgme_widget_message_roundvideo_wrap">'
            '<video class="tgme_widget_message_roundvideo js-message_roundvideo" '
            f'src="{_a(_abs(base_url, video.src))}" width="100%" height="100%"></video></div>'
        )
    return (
        '<a class="tgme_widget_message_roundvideo_player js-message_roundvideo_player" '
        f'href="{_a(href)}"><i class="tgme_widget_message_roundvideo_thumb" '
        f'style="{_a(_bg(_abs(base_url, video.thumb)))}"></i>{body}'
        '<time class="tgme_widget_message_roundvideo_duration js-message_roundvideo_duration">'
        f"{escape(video.duration)}</time></a>"
    )


def _location(location: Location) -> str:
    point = f"{location.lat},{location.long}"
    maps = f"https://maps.google.com/maps?q={point}&ll={point}&z=16"
    static = f"https://t.me/api/staticmap?width=300&height=200&center={point}&zoom=15"
    return (
        f'<a class="tgme_widget_message_location_wrap" href="{_a(maps)}" target="_blank">'
        f'<div class="tgme_widget_message_location" style="{_a(_bg(static))}"></div>'
        '<div class="tgme_widget_message_location_info">'
        '<div class="tgme_widget_message_location_point"></div></div></a>'
    )


def _media(channel: FixtureChannel, base_url: str, media: Media, href: str, grouped: bool) -> str:
    if isinstance(media, Photo):
        return _photo(channel, base_url, media, href, grouped)
    if isinstance(media, Video):
        return _video(base_url, media, href, grouped)
    if isinstance(media, Sticker):
        return _sticker(base_url, media)
    if isinstance(media, Poll):
        return _poll(media)
    if isinstance(media, Voice):
        return _voice(base_url, media, href)
    if isinstance(media, Document):
        return _document(media, href)
    if isinstance(media, RoundVideo):
        return _round_video(base_url, media, href)
    return _location(media)


def _album(channel: FixtureChannel, base_url: str, items: tuple[AlbumItem, ...]) -> str:
    members = "".join(
        _media(channel, base_url, item.media, _permalink(channel, item.message_id, True), True)
        for item in items
    )
    return (
        '<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" data-margin-w="2" '
        'data-margin-h="2" style="width:453px;"><div class="tgme_widget_message_grouped" '
        'style="padding-top:90.728%"><div class="tgme_widget_message_grouped_layer '
        f'js-message_grouped_layer" style="width:453px;height:411px">{members}</div></div></div>'
    )


def _link_preview(base_url: str, preview: LinkPreview) -> str:
    # The preview's own picture is not the post's media.
    image = _bg(_abs(base_url, "/img/link-preview.jpg"))
    return (
        f'<a class="tgme_widget_message_link_preview" href="{_a(preview.url)}">'
        f'<i class="link_preview_right_image" style="{_a(image)}"></i>'
        f'<div class="link_preview_site_name accent_color" dir="auto">{escape(preview.site_name)}'
        f'</div><div class="link_preview_title" dir="auto">{escape(preview.title)}</div>'
        f'<div class="link_preview_description" dir="auto">{escape(preview.description)}</div></a>'
    )


def _reaction(reaction: Reaction) -> str:
    if reaction.paid:
        icon = '<i class="icon icon-telegram-stars"></i>'
        return (
            f'<span class="tgme_reaction tgme_reaction_paid">{icon}{escape(reaction.count)}</span>'
        )
    icon = _emoji(reaction.emoji)
    if reaction.custom_id:
        icon = f'<tg-emoji emoji-id="{_a(reaction.custom_id)}">{icon}</tg-emoji>'
    return f'<span class="tgme_reaction">{icon}{escape(reaction.count)}</span>'


def _footer(channel: FixtureChannel, post: FixturePost) -> str:
    views = ""
    if post.views is not None and not post.service:
        views = (
            f'<span class="tgme_widget_message_views">{escape(post.views)}</span>'
            '<span class="copyonly"> views</span>'
        )
    author = ""
    if post.author:
        author = (
            f'<span class="tgme_widget_message_from_author" dir="auto">{escape(post.author)}'
            "</span>,&nbsp;"
        )
    edited = "edited&nbsp;" if post.edited else ""
    date = (
        f'<a class="tgme_widget_message_date" href="{_a(_permalink(channel, post.ids[0]))}">'
        f'<time datetime="{_datetime_attr(post)}" class="time">{post.date:%H:%M}</time></a>'
    )
    return (
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        '<div class="tgme_widget_message_info short js-message_info">'
        f'{views}<span class="tgme_widget_message_meta">{author}{edited}{date}</span></div></div>'
    )


def render_message(channel: FixtureChannel, post: FixturePost, base_url: str) -> str:
    """One `div.tgme_widget_message_wrap`, as on t.me/s."""
    body: list[str] = []
    if not post.service:
        body.append(
            '<i class="tgme_widget_message_bubble_tail"><svg class="bubble_icon" width="9px" '
            'height="20px" viewBox="0 0 9 20"><path class="background" d="M8,1 L9,1"></path>'
            "</svg></i>"
            '<div class="tgme_widget_message_author accent_color">'
            f'<a class="tgme_widget_message_owner_name" href="https://t.me/{_a(channel.name)}">'
            f'<span dir="auto">{escape(channel.title)}</span></a></div>'
        )
    if post.forward:
        body.append(_forward(post.forward))
    if post.reply:
        body.append(_reply(channel, post.reply))
    if post.album:
        body.append(_album(channel, base_url, post.album))
    if post.media:
        body.append(_media(channel, base_url, post.media, _permalink(channel, post.id), False))
    if post.text:
        text = (
            '<div class="tgme_widget_message_text js-message_text" dir="auto">'
            f"{render_text(post.text)}</div>"
        )
        # A single-media post's caption sits one wrapper deeper than a text post's.
        body.append(f'<div class="media_supported_cont">{text}</div>' if post.media else text)
    if post.link_preview:
        body.append(_link_preview(base_url, post.link_preview))
    if post.reactions:
        reactions = "".join(_reaction(r) for r in post.reactions)
        body.append(
            f'<div class="tgme_widget_message_reactions js-message_reactions">{reactions}</div>'
        )
    body.append(_footer(channel, post))
    kind = "service_message" if post.service else "text_not_supported_wrap"
    user = ""
    if not post.service:
        user = (
            f'<div class="tgme_widget_message_user"><a href="https://t.me/{_a(channel.name)}">'
            '<i class="tgme_widget_message_user_photo bgcolor1" '
            f'data-content="{_a(channel.title[:1])}">'
            f'<img src="{_a(base_url)}/img/avatar-{channel.channel_id}.jpg"></i></a></div>'
        )
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message {kind} js-widget_message" '
        f'data-post="{_a(channel.name)}/{post.data_post_id}" '
        f'data-view="{_a(data_view(channel, post.data_post_id))}">'
        f'{user}<div class="tgme_widget_message_bubble">{"".join(body)}</div></div></div>\n'
    )
