"""A post's media on t.me/s: photos, videos, stickers, polls, voice notes, documents, round
videos, locations, and albums of them, with the wrappers and styles the real pages use."""

from __future__ import annotations

from html import escape

from sandbox.site.markup import absolute, attr, background, permalink
from sandbox.site.model import (
    AlbumItem,
    Document,
    FixtureChannel,
    Location,
    Media,
    Photo,
    Poll,
    RoundVideo,
    Sticker,
    Video,
    Voice,
)


def _photo(channel: FixtureChannel, base_url: str, photo: Photo, href: str, grouped: bool) -> str:
    style = background(absolute(base_url, photo.image), photo.quote)
    if grouped:
        return (
            '<a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" '
            f'style="left:0px;top:0px;width:200px;height:200px;{attr(style)}" data-ratio="1" '
            f'href="{attr(href)}"><div class="grouped_media_helper" style="left:0;top:0">'
            '<div class="tgme_widget_message_photo grouped_media"></div></div></a>'
        )
    return (
        f'<a class="tgme_widget_message_photo_wrap {channel.channel_id} blured" '
        f'href="{attr(href)}" style="width:800px;{attr(style)}">'
        '<div class="tgme_widget_message_photo" style="padding-top:56.25%"></div></a>'
    )


def _video(base_url: str, video: Video, href: str, grouped: bool) -> str:
    extra = " grouped_media_wrap blured" if grouped else " not_supported"
    if video.src is not None:
        body = (
            '<div class="tgme_widget_message_video_wrap">'
            f'<video class="tgme_widget_message_video js-message_video" '
            f'src="{attr(absolute(base_url, video.src))}" width="100%" height="100%"></video></div>'
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
        f'href="{attr(href)}">'
        f'<i class="tgme_widget_message_video_thumb" '
        f'style="{attr(background(absolute(base_url, video.thumb)))}"></i>{body}'
        '<div class="message_video_play"></div>'
        '<time class="message_video_duration js-message_video_duration">'
        f"{escape(video.duration)}</time></a>"
    )


def _sticker(base_url: str, sticker: Sticker) -> str:
    image = absolute(base_url, sticker.image)
    src = absolute(base_url, sticker.src or "")
    if sticker.kind == "static":
        inner = (
            f'<i class="tgme_widget_message_sticker js-sticker_image" '
            f'style="width:256px;{attr(background(image))}" data-webp="{attr(image)}"></i>'
        )
        return f'<div class="tgme_widget_message_sticker_wrap media_supported_cont">{inner}</div>'
    if sticker.kind == "animated":
        inner = (
            '<i class="tgme_widget_message_tgsticker js-tgsticker_image" style="width:256px">'
            '<div class="tgme_widget_message_tgsticker_image" '
            f'style="{attr(background(image))}"></div>'
            '<picture class="tgme_widget_message_tgsticker_image">'
            f'<source type="application/x-tgsticker" srcset="{attr(src)}"></picture></i>'
        )
        return f'<div class="tgme_widget_message_sticker_wrap media_supported_cont">{inner}</div>'
    return (
        '<div class="tgme_widget_message_videosticker_wrap media_supported_cont">'
        '<i class="tgme_widget_message_videosticker js-videosticker" style="width:256px">'
        f'<video class="js-videosticker_video" src="{attr(src)}" width="100%" height="100%" '
        f'preload muted autoplay loop playsinline><img src="{attr(image)}"></video></i></div>'
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
    src = absolute(base_url, voice.src)
    return (
        f'<a class="tgme_widget_message_voice_player js-message_voice_player" href="{attr(href)}">'
        f'<audio class="tgme_widget_message_voice js-message_voice" src="{attr(src)}" '
        f'data-ogg="{attr(src)}" preload="none"></audio>'
        '<div class="tgme_widget_message_voice_info">'
        '<time class="tgme_widget_message_voice_duration js-message_voice_duration">'
        f"{escape(voice.duration)}</time></div></a>"
    )


def _document(document: Document, href: str) -> str:
    icon = "accent_bg audio" if document.audio else "accent_bg"
    return (
        f'<a class="tgme_widget_message_document_wrap" href="{attr(href)}">'
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
            f'src="{attr(absolute(base_url, video.src))}" width="100%" height="100%"></video></div>'
        )
    return (
        '<a class="tgme_widget_message_roundvideo_player js-message_roundvideo_player" '
        f'href="{attr(href)}"><i class="tgme_widget_message_roundvideo_thumb" '
        f'style="{attr(background(absolute(base_url, video.thumb)))}"></i>{body}'
        '<time class="tgme_widget_message_roundvideo_duration js-message_roundvideo_duration">'
        f"{escape(video.duration)}</time></a>"
    )


def _location(location: Location) -> str:
    point = f"{location.lat},{location.long}"
    maps = f"https://maps.google.com/maps?q={point}&ll={point}&z=16"
    static = f"https://t.me/api/staticmap?width=300&height=200&center={point}&zoom=15"
    return (
        f'<a class="tgme_widget_message_location_wrap" href="{attr(maps)}" target="_blank">'
        f'<div class="tgme_widget_message_location" style="{attr(background(static))}"></div>'
        '<div class="tgme_widget_message_location_info">'
        '<div class="tgme_widget_message_location_point"></div></div></a>'
    )


def render_media(
    channel: FixtureChannel, base_url: str, media: Media, href: str, grouped: bool
) -> str:
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


def render_album(channel: FixtureChannel, base_url: str, items: tuple[AlbumItem, ...]) -> str:
    members = "".join(
        render_media(channel, base_url, item.media, permalink(channel, item.message_id, True), True)
        for item in items
    )
    return (
        '<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" data-margin-w="2" '
        'data-margin-h="2" style="width:453px;"><div class="tgme_widget_message_grouped" '
        'style="padding-top:90.728%"><div class="tgme_widget_message_grouped_layer '
        f'js-message_grouped_layer" style="width:453px;height:411px">{members}</div></div></div>'
    )
