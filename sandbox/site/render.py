"""One message of the t.me/s preview, with its traps: text, forwards, replies, reactions, footer.

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

from sandbox.site.markup import absolute, attr, background, permalink
from sandbox.site.model import (
    FixtureChannel,
    FixturePost,
    Forward,
    LinkPreview,
    Reaction,
    Reply,
    TextLink,
    TextPart,
)
from sandbox.site.render_media import render_album, render_media


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
        f'<i class="emoji" style="{background(f"//telegram.org/img/emoji/40/{code}.png")}">'
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
        return f'<a href="{attr(link.href)}">{text}</a>'
    if link.text != link.href:
        # Telegram's own warning for text links whose text is not their address.
        confirm = "return confirm('Open this link?\\n\\n'+this.href);"
        return (
            f'<a href="{attr(link.href)}" target="_blank" rel="noopener" '
            f'onclick="{attr(confirm)}">{text}</a>'
        )
    return f'<a href="{attr(link.href)}" target="_blank" rel="noopener">{text}</a>'


def _datetime_attr(post: FixturePost) -> str:
    when = post.date.astimezone(UTC)
    if post.date_style == "Z":
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if post.date_style == "+03:00":
        return when.astimezone(timezone(timedelta(hours=3))).isoformat()
    return when.isoformat()


def _forward(forward: Forward) -> str:
    name = f'<span dir="auto">{escape(forward.name)}</span>'
    if forward.username is None:
        inner = f'<span class="tgme_widget_message_forwarded_from_name" dir="auto">{name}</span>'
    else:
        href = f"https://t.me/{forward.username}" + (
            f"/{forward.message_id}" if forward.message_id else ""
        )
        inner = f'<a class="tgme_widget_message_forwarded_from_name" href="{attr(href)}">{name}</a>'
    return (
        f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from {inner}</div>'
    )


def _reply(channel: FixtureChannel, reply: Reply) -> str:
    return (
        f'<a class="tgme_widget_message_reply" href="{attr(permalink(channel, reply.message_id))}">'
        '<div class="tgme_widget_message_author accent_color">'
        f'<span class="tgme_widget_message_author_name" dir="auto">{escape(reply.author)}</span>'
        "</div>"
        '<div class="tgme_widget_message_text js-message_reply_text" dir="auto">'
        f"{escape(reply.quoted)}</div></a>"
    )


def _link_preview(base_url: str, preview: LinkPreview) -> str:
    # The preview's own picture is not the post's media.
    image = background(absolute(base_url, "/img/link-preview.jpg"))
    return (
        f'<a class="tgme_widget_message_link_preview" href="{attr(preview.url)}">'
        f'<i class="link_preview_right_image" style="{attr(image)}"></i>'
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
        icon = f'<tg-emoji emoji-id="{attr(reaction.custom_id)}">{icon}</tg-emoji>'
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
        f'<a class="tgme_widget_message_date" href="{attr(permalink(channel, post.ids[0]))}">'
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
            f'<a class="tgme_widget_message_owner_name" href="https://t.me/{attr(channel.name)}">'
            f'<span dir="auto">{escape(channel.title)}</span></a></div>'
        )
    if post.forward:
        body.append(_forward(post.forward))
    if post.reply:
        body.append(_reply(channel, post.reply))
    if post.album:
        body.append(render_album(channel, base_url, post.album))
    if post.media:
        body.append(render_media(channel, base_url, post.media, permalink(channel, post.id), False))
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
            f'<div class="tgme_widget_message_user"><a href="https://t.me/{attr(channel.name)}">'
            '<i class="tgme_widget_message_user_photo bgcolor1" '
            f'data-content="{attr(channel.title[:1])}">'
            f'<img src="{attr(base_url)}/img/avatar-{channel.channel_id}.jpg"></i></a></div>'
        )
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message {kind} js-widget_message" '
        f'data-post="{attr(channel.name)}/{post.data_post_id}" '
        f'data-view="{attr(data_view(channel, post.data_post_id))}">'
        f'{user}<div class="tgme_widget_message_bubble">{"".join(body)}</div></div></div>\n'
    )
