"""Whole pages: a t.me/s channel page with paging, t.me landing pages, ordinary web pages.

Paging follows t.me/s: the newest `page_size` widgets, oldest at the top; `?before=<id>` gives
the widgets older than <id>, `?after=<id>` the ones newer. The older cursor is the first id on
the page, written as `<link rel="prev">` and as `a.tme_messages_more[data-before]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import format_datetime
from html import escape

from sandbox.site.model import FixtureChannel, FixturePost, WebPage
from sandbox.site.render import render_message, render_text


@dataclass(frozen=True)
class PageSlice:
    posts: tuple[FixturePost, ...]
    older_cursor: int | None
    newer_cursor: int | None


def page_of(
    channel: FixtureChannel, *, before: int | None = None, after: int | None = None
) -> PageSlice:
    widgets = sorted(channel.posts, key=lambda post: post.ids[0])
    size = max(channel.page_size, 1)
    if after is not None:
        chosen = [post for post in widgets if post.ids[0] > after][:size]
    else:
        eligible = [post for post in widgets if before is None or post.ids[0] < before]
        chosen = eligible[-size:]
    if not chosen:
        return PageSlice((), None, None)
    first_id, last_id = chosen[0].ids[0], chosen[-1].ids[-1]
    older = first_id if any(post.ids[0] < first_id for post in widgets) else None
    newer = last_id if any(post.ids[0] > last_id for post in widgets) else None
    return PageSlice(tuple(chosen), older, newer)


def _head(title: str, extra: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset="utf-8">\n'
        f"    <title>{escape(title)}</title>\n"
        '    <meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        f'    <meta property="og:title" content="{escape(title)}">\n{extra}'
        '    <script src="//telegram.org/js/widget-frame.js?63"></script>\n  </head>\n'
    )


def render_channel_page(
    channel: FixtureChannel, *, base_url: str, before: int | None = None, after: int | None = None
) -> str:
    """The /s/<name> page (optionally ?before= / ?after=) as t.me serves it."""
    page = page_of(channel, before=before, after=after)
    links = f'    <link rel="canonical" href="https://t.me/s/{escape(channel.name)}">\n'
    more_top = more_bottom = ""
    if page.older_cursor is not None:
        href = f"/s/{channel.name}?before={page.older_cursor}"
        if channel.rel_prev:
            links += f'    <link rel="prev" href="{escape(href)}">\n'
        if channel.more_link:
            more_top = (
                f'<a href="{escape(href)}" class="tme_messages_more js-messages_more" '
                f'data-before="{page.older_cursor}"></a>\n'
            )
    if page.newer_cursor is not None:
        href = f"/s/{channel.name}?after={page.newer_cursor}"
        links += f'    <link rel="next" href="{escape(href)}">\n'
        if channel.more_link:
            more_bottom = (
                f'<a href="{escape(href)}" class="tme_messages_more js-messages_more" '
                f'data-after="{page.newer_cursor}"></a>\n'
            )
    messages = "".join(render_message(channel, post, base_url) for post in page.posts)
    # Scripts hold message-shaped strings; a parser that regex-scans the page would find them.
    script = (
        '<script>TWidgetPost.init();var tpl = \'<div class="tgme_widget_message" '
        'data-post="decoy/1"></div>\';</script>'
    )
    return (
        _head(f"Telegram – {channel.title}", links)
        + '  <body class="widget_frame_base tgme_webpreview emoji_image no_transitions">\n'
        + '<header class="tgme_header search_collapsed"><div class="tgme_header_search">'
        + '<form class="tgme_header_search_form" action="" method="get">'
        + '<input class="tgme_header_search_form_input" name="q" placeholder="Search">'
        + "</form></div></header>\n"
        + '<main class="tgme_main"><div class="tgme_container">\n'
        + _channel_info(channel, base_url)
        + '<section class="tgme_channel_history js-message_history">\n'
        + more_top
        + messages
        + more_bottom
        + "</section>\n</div></main>\n"
        + script
        + "\n  </body>\n</html>\n"
    )


def _channel_info(channel: FixtureChannel, base_url: str) -> str:
    verified = (
        '<div class="tgme_channel_info_header_labels"><i class="verified-icon"></i></div>'
        if channel.verified
        else ""
    )
    description = render_text(tuple(channel.description.splitlines(keepends=True)))
    return (
        '<div class="tgme_channel_info">\n  <div class="tgme_channel_info_header">'
        f'<i class="tgme_page_photo_image bgcolor1" data-content="{escape(channel.title[:1])}">'
        f'<img src="{escape(base_url)}/img/avatar-{channel.channel_id}.jpg"></i>'
        '<div class="tgme_channel_info_header_title">'
        f'<span dir="auto">{escape(channel.title)}</span></div>{verified}'
        '<div class="tgme_channel_info_header_username">'
        f'<a href="https://t.me/{escape(channel.name)}">@{escape(channel.name)}</a></div></div>\n'
        f'  <div class="tgme_channel_info_description">{description}</div>\n'
        '  <div class="tgme_channel_info_counters">'
        '<div class="tgme_channel_info_counter">'
        f'<span class="counter_value">{escape(channel.subscribers)}</span> '
        '<span class="counter_type">subscribers</span></div>'
        f'<a class="tgme_channel_info_counter" href="/s/{escape(channel.name)}?q=%23photos">'
        '<span class="counter_value">131</span> <span class="counter_type">photos</span></a>'
        "</div>\n</div>\n"
    )


def render_landing_page(name: str, channel: FixtureChannel | None) -> str:
    """t.me/<name>: a channel's or group's card, or the 'contact @name' page for anything else."""
    if channel is None:
        title, extra = "Telegram", ""
        description = (
            "If you have <strong>Telegram</strong>, you can contact "
            f'<a class="tgme_username_link" href="tg://resolve?domain={escape(name)}">'
            f"@{escape(name)}</a> right away."
        )
    else:
        unit = "members, 3 online" if channel.kind == "group" else "subscribers"
        title = channel.title
        extra = f'<div class="tgme_page_extra">{escape(channel.subscribers)} {unit}</div>'
        description = escape(channel.description)
    preview = ""
    if channel is not None and channel.kind == "channel":
        preview = (
            f'<a class="tgme_action_button_new tgme_action_web_button" href="/s/{escape(name)}">'
            "Preview channel</a>"
        )
    return (
        _head(f"Telegram: Contact @{name}")
        + '  <body class="no_transition">\n<div class="tgme_page_wrap"><div class="tgme_page">'
        + f'<div class="tgme_page_title"><span dir="auto">{escape(title)}</span></div>{extra}'
        + f'<div class="tgme_page_description" dir="auto">{description}</div>'
        + '<div class="tgme_page_action"><a class="tgme_action_button_new shine" '
        + f'href="tg://resolve?domain={escape(name)}">View in Telegram</a></div>{preview}'
        + "</div></div>\n  </body>\n</html>\n"
    )


def render_web_page(page: WebPage) -> str:
    paragraphs = "".join(f"<p>{escape(text)}</p>\n" for text in page.paragraphs)
    images = "".join(f'<img src="{escape(src)}" alt="">\n' for src in page.images)
    links = "".join(f'<a href="{escape(href)}">{escape(href)}</a>\n' for href in page.links)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(page.title)}</title>'
        f"</head>\n<body>\n<h1>{escape(page.title)}</h1>\n{paragraphs}{images}{links}</body></html>\n"
    )


def http_date(page: WebPage) -> str | None:
    return format_datetime(page.last_modified, usegmt=True) if page.last_modified else None


CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title>"
    '<meta http-equiv="refresh" content="30"></head><body>'
    '<div id="challenge-running">Checking your browser before accessing the site.</div>'
    "<noscript>Enable JavaScript and cookies to continue</noscript>"
    '<script>document.cookie = "challenge=1"; location.reload();</script></body></html>\n'
)
