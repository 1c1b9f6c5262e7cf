"""One `div.tgme_widget_message` of a t.me/s page -> `Post` records (several for an album).

Pure: lxml element in, records out. The traps it handles are documented where they bite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from lxml import etree

from crawler.observations import (
    CollectorKind,
    Counter,
    ForwardRef,
    Link,
    Platform,
    Post,
    SourceKey,
)
from crawler.tme_links import one_per_target
from spiders.tme_counters import counter_or_none, parse_timestamp
from spiders.tme_links import classify_link, is_username
from spiders.tme_markup import (
    absolute_url,
    classes,
    element_text,
    first,
    has_class,
    inside,
    parse_id,
    permalink_id,
    split_url,
    walk_elements,
)
from spiders.tme_media import MediaUrl, Member, collect_media, poll_text

# Blocks inside a message that quote or describe something else: their text, dates, links
# and images are not the post's own.
_FOREIGN = frozenset(
    {
        "tgme_widget_message_reply",
        "tgme_widget_message_link_preview",
        "tgme_widget_message_forwarded_from",
        "tgme_widget_message_author",
    }
)
_EDITED = re.compile(r"\bedited\b", re.IGNORECASE)
_REACTION_ICONS = frozenset({"emoji", "icon"})
_EMOJI = frozenset({"tg-emoji"})


@dataclass(frozen=True, slots=True)
class PageContext:
    page_url: str
    observed_at: datetime
    channel_ids: dict[str, str]
    """Lower-case channel name -> bare channel id, from any decodable `data-view` on the page."""


def data_post(el: etree._Element) -> tuple[str, int] | None:
    """("name", id) from `data-post="name/123"`, else None."""
    raw = (el.get("data-post") or "").strip()
    name, _, number = raw.rpartition("/")
    message_id = parse_id(number)
    if not name or "/" in name or message_id is None:
        return None
    return name.lower(), message_id


def parse_message(el: etree._Element, ctx: PageContext) -> tuple[list[Post], list[MediaUrl]]:
    """Posts and media URLs of one message widget; ([], []) when it has no usable `data-post`."""
    ident = data_post(el)
    if ident is None:
        return [], []
    name, message_id = ident
    source = SourceKey(Platform.TELEGRAM, platform_id=ctx.channel_ids.get(name), username=name)
    own = [node for node in walk_elements(el) if not inside(node, el, _FOREIGN)]
    date_link = first(n for n in own if n.tag == "a" and has_class(n, "tgme_widget_message_date"))
    time_el = first(date_link.iter("time")) if date_link is not None else None
    posted_at = parse_timestamp(time_el.get("datetime") if time_el is not None else None)
    origin = _origin(date_link.get("href") if date_link is not None else None, ctx.page_url)

    members, media_urls = collect_media(el, own, message_id, ctx.page_url)
    first_id = min(members) if members else message_id
    # The caption and the counters of an album belong to its first message, whichever id the
    # widget's data-post names.
    head_media = members.pop(first_id, Member(first_id, [])).media
    text_el = _own_text_element(el, own)
    text = element_text(text_el).strip() if text_el is not None else ""
    post = Post(
        source=source,
        message_id=first_id,
        collector=CollectorKind.TME_PREVIEW,
        observed_at=ctx.observed_at,
        url=f"{origin}/{name}/{first_id}",
        posted_at=posted_at,
        edited=_is_edited(own),
        # A poll's words are what the room says: the keyword matchers read them as text.
        text="\n".join(part for part in (text, poll_text(own)) if part),
        author=_text_of_first(own, "tgme_widget_message_from_author"),
        views=_views(own),
        reactions=_reactions(el, own),
        fwd_from=_forward(el, ctx.page_url),
        reply_to=_reply_to(el, ctx.page_url),
        grouped_id=first_id if _is_album(own) else None,
        is_service=has_class(el, "service_message"),
        media=tuple(head_media),
        links=_links(text_el, own, ctx.page_url),
    )
    posts = [post]
    for member in sorted(members.values(), key=lambda m: m.message_id):
        posts.append(
            Post(
                source=source,
                message_id=member.message_id,
                collector=CollectorKind.TME_PREVIEW,
                observed_at=ctx.observed_at,
                url=f"{origin}/{name}/{member.message_id}",
                posted_at=posted_at,
                grouped_id=first_id,
                media=tuple(member.media),
            )
        )
    return posts, media_urls


def _origin(href: str | None, page_url: str) -> str:
    """scheme://host of the permalink, so a mirror's posts keep the mirror's host."""
    for candidate in (absolute_url(href, page_url), page_url):
        try:
            parts = urlsplit(candidate or "")
        except ValueError:
            continue
        netloc = parts.netloc.rpartition("@")[2].lower()
        if parts.scheme.lower() in ("http", "https") and netloc:
            return f"{parts.scheme.lower()}://{netloc}"
    return "https://t.me"


def _own_text_element(el: etree._Element, own: list[etree._Element]) -> etree._Element | None:
    """The post's own text block.

    A reply's quoted text is also a `tgme_widget_message_text` and comes first in the markup;
    a media post's text sits one wrapper deeper than a plain post's. So: the first text block
    outside the foreign blocks that is not itself nested in another text block.
    """
    for node in own:
        names = classes(node)
        if (
            "tgme_widget_message_text" in names
            and "js-message_reply_text" not in names
            and not inside(node, el, {"tgme_widget_message_text"})
        ):
            return node
    return None


def _is_edited(own: list[etree._Element]) -> bool:
    # The signature shares the meta span: an author called "edited" must not mark a post edited.
    for node in own:
        if has_class(node, "tgme_widget_message_meta"):
            text = element_text(node, skip_classes=frozenset({"tgme_widget_message_from_author"}))
            if _EDITED.search(text):
                return True
    return False


def _text_of_first(own: list[etree._Element], class_name: str) -> str | None:
    node = first(n for n in own if has_class(n, class_name))
    text = element_text(node).strip() if node is not None else ""
    return text or None


def _views(own: list[etree._Element]) -> Counter | None:
    node = first(n for n in own if has_class(n, "tgme_widget_message_views"))
    return counter_or_none(element_text(node)) if node is not None else None


def _reactions(el: etree._Element, own: list[etree._Element]) -> tuple[tuple[str, int], ...]:
    found: list[tuple[str, int]] = []
    for node in own:
        if not has_class(node, "tgme_reaction"):
            continue
        if not inside(node, el, {"tgme_widget_message_reactions"}):
            continue
        key = _reaction_key(node)
        count = counter_or_none(element_text(node, skip_classes=_REACTION_ICONS, skip_tags=_EMOJI))
        if key is not None and count is not None:
            found.append((key, count.value))
    return tuple(found)


def _reaction_key(node: etree._Element) -> str | None:
    custom = first(node.iter("tg-emoji"))
    if custom is not None and (custom.get("emoji-id") or "").strip():
        return f"custom:{custom.get('emoji-id', '').strip()}"
    emoji = first(b for i in node.iter("i") if has_class(i, "emoji") for b in i.iter("b") if b.text)
    if emoji is not None and emoji.text:
        return emoji.text.strip()
    if has_class(node, "tgme_reaction_paid") or any(
        has_class(i, "icon-telegram-stars") for i in node.iter("i")
    ):
        return "paid"
    return None


def _forward(el: etree._Element, page_url: str) -> ForwardRef | None:
    node = first(
        n for n in walk_elements(el) if has_class(n, "tgme_widget_message_forwarded_from_name")
    )
    if node is None:
        return None
    name = element_text(node).strip() or None
    # A forward from a hidden user is a <span> without href: only the display name is known.
    resolved = absolute_url(node.get("href"), page_url)
    parts = split_url(resolved) if resolved else None
    segments = parts[2] if parts else []
    if segments[:1] == ["s"]:
        segments = segments[1:]
    if len(segments) >= 2 and segments[0] == "c":
        # t.me/c/<id>/<msg>: a channel without a username, named by its bare id.
        channel_id = parse_id(segments[1])
        message_id = parse_id(segments[2]) if len(segments) > 2 else None
        return ForwardRef(
            source_id=str(channel_id) if channel_id else None, platform_id=message_id, name=name
        )
    if segments and is_username(segments[0]):
        message_id = parse_id(segments[1]) if len(segments) > 1 else None
        return ForwardRef(username=segments[0].lower(), platform_id=message_id, name=name)
    return ForwardRef(name=name)


def _reply_to(el: etree._Element, page_url: str) -> int | None:
    node = first(
        n for n in walk_elements(el) if n.tag == "a" and has_class(n, "tgme_widget_message_reply")
    )
    return permalink_id(node.get("href"), page_url) if node is not None else None


def _is_album(own: list[etree._Element]) -> bool:
    return any(has_class(n, "tgme_widget_message_grouped_wrap") for n in own)


def _links(
    text_el: etree._Element | None, own: list[etree._Element], page_url: str
) -> tuple[Link, ...]:
    anchors: list[etree._Element] = []
    if text_el is not None:
        anchors.extend(a for a in text_el.iter("a") if a.get("href") is not None)
    anchors.extend(
        n
        for n in own
        if n.tag == "a"
        and classes(n) & {"tgme_widget_message_link_preview", "tgme_widget_message_inline_button"}
    )
    return one_per_target(
        classify_link(a.get("href"), element_text(a), page_url=page_url) for a in anchors
    )
