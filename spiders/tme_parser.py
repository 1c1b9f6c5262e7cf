"""The t.me/s channel preview parser: one page of HTML in, observations out.

A pure function in the manner of minet's telegram scraper: no I/O, no clock, no state. The
spider fetches `https://t.me/s/<name>` (and `?before=<id>` for older pages), hands the body to
`parse_channel_page`, fetches and hashes `PreviewPage.media_urls` within its caps, and passes
the records on to ingest.

Page skeleton (oldest message at the top)::

    <link rel="prev" href="/s/name?before=101">
    <div class="tgme_channel_info"> header: title, @username, description, counters </div>
    <section class="tgme_channel_history js-message_history">
      <a class="tme_messages_more js-messages_more" data-before="101" href="/s/name?before=101">
      <div class="tgme_widget_message_wrap js-widget_message_wrap">
        <div class="tgme_widget_message js-widget_message" data-post="name/101" data-view="…">

Identity: the channel's numeric id comes from a message's `data-view` (see
`channel_id_from_data_view`: always the bare positive id as a decimal string); usernames are
lower-cased, as Telegram treats them case-insensitively. Markup is parsed by lxml (through
parsel) without scripts, network access or entity loading: nothing on the page runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from parsel import Selector

from crawler.observations import ChannelSnapshot, Counter, Platform, Post, SourceKey
from spiders.tme_counters import channel_id_from_data_view, counter_or_none, parse_counter
from spiders.tme_markup import (
    absolute_url,
    classes,
    element_text,
    first,
    has_class,
    parse_id,
    split_url,
)
from spiders.tme_post import MediaUrl, PageContext, data_post, parse_message

__all__ = ["MediaUrl", "PreviewPage", "parse_channel_page", "parse_counter"]

_PARTICIPANT_TYPES = frozenset({"subscriber", "subscribers", "member", "members"})
_DESCRIPTION_SKIP = frozenset({"tgme_channel_info_description_more"})


@dataclass(frozen=True, slots=True)
class PreviewPage:
    """What one t.me/s page says.

    `older_cursor` is the `before` id of the next older page (None: this is the oldest page);
    `newer_cursor` likewise for `after`. `media_urls` lists, per (message_id, ordinal) of the
    `MediaHashes` in `posts`, the URLs to fetch and hash; the records themselves never carry
    bytes or URLs. `has_message_markup` is True when the page contains message widgets at
    all, so "markup present but no posts parsed" flags a page whose layout has changed.
    """

    older_cursor: int | None
    channel: ChannelSnapshot | None
    posts: tuple[Post, ...]
    has_message_markup: bool
    media_urls: tuple[MediaUrl, ...] = ()
    newer_cursor: int | None = None


def parse_channel_page(html: str, *, page_url: str, observed_at: datetime) -> PreviewPage:
    """Parse a t.me/s page (or a mirror's copy of one) into observations.

    Never raises on arbitrary input: unknown or broken markup yields fewer fields, not errors.
    Links are resolved against `page_url`; post URLs keep the permalinks' host, so a mirror's
    posts point at the mirror.
    """
    root = _root(html)
    messages = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and "tgme_widget_message" in classes(el)
        and not any(has_class(a, "tgme_widget_message") for a in el.iterancestors())
    ]
    channel_ids = _channel_ids(messages)
    ctx = PageContext(page_url=page_url, observed_at=observed_at, channel_ids=channel_ids)
    posts: list[Post] = []
    media_urls: list[MediaUrl] = []
    for el in messages:
        message_posts, message_urls = parse_message(el, ctx)
        posts.extend(message_posts)
        media_urls.extend(message_urls)
    names = [ident[0] for ident in map(data_post, messages) if ident]
    return PreviewPage(
        older_cursor=_cursor(root, "prev", "before", page_url),
        newer_cursor=_cursor(root, "next", "after", page_url),
        channel=_channel(root, names, channel_ids, page_url, observed_at),
        posts=tuple(posts),
        has_message_markup=bool(messages) or _has_message_markup(root),
        media_urls=tuple(media_urls),
    )


def _root(html: str) -> etree._Element:
    # parsel drops NULs and falls back to an empty document when lxml finds nothing; lone
    # surrogates (possible in a decoded-with-errors body) cannot be encoded, so replace them.
    text = html.encode("utf-8", "replace").decode("utf-8") if isinstance(html, str) else ""
    return Selector(text=text or "<html></html>", type="html").root


def _has_message_markup(root: etree._Element) -> bool:
    for el in root.iter():
        if isinstance(el.tag, str) and (
            el.get("data-post") is not None
            or any(name.startswith("tgme_widget_message") for name in classes(el))
        ):
            return True
    return False


def _channel_ids(messages: list[etree._Element]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for el in messages:
        ident = data_post(el)
        channel_id = channel_id_from_data_view(el.get("data-view"))
        if ident and channel_id:
            ids.setdefault(ident[0], channel_id)
    return ids


def _cursor(root: etree._Element, rel: str, param: str, page_url: str) -> int | None:
    """The paging id from `<link rel=prev|next>`, else from `a.tme_messages_more[data-…]`."""
    for link in root.iter("link"):
        if rel in (link.get("rel") or "").lower().split():
            parts = split_url(absolute_url(link.get("href"), page_url) or "")
            value = (parts[3].get(param) or [None])[0] if parts else None
            found = parse_id(value)
            if found is not None:
                return found
    for el in root.iter():
        if isinstance(el.tag, str) and has_class(el, "tme_messages_more"):
            found = parse_id(el.get(f"data-{param}"))
            if found is not None:
                return found
    return None


def _channel(
    root: etree._Element,
    names: list[str],
    channel_ids: dict[str, str],
    page_url: str,
    observed_at: datetime,
) -> ChannelSnapshot | None:
    info = first(
        el for el in root.iter() if isinstance(el.tag, str) and has_class(el, "tgme_channel_info")
    )
    if info is None:
        return None
    header_username = _username(info)
    name = names[0] if names else header_username or _name_from_url(page_url)
    if not name:
        return None
    return ChannelSnapshot(
        source=SourceKey(Platform.TELEGRAM, platform_id=channel_ids.get(name), username=name),
        observed_at=observed_at,
        username=header_username or name,
        title=_class_text(info, "tgme_channel_info_header_title"),
        about=_class_text(info, "tgme_channel_info_description", skip=_DESCRIPTION_SKIP),
        participants=_participants(info),
        flags=_flags(info),
    )


def _descendants_with(el: etree._Element, class_name: str) -> list[etree._Element]:
    return [n for n in el.iter() if isinstance(n.tag, str) and has_class(n, class_name)]


def _class_text(
    el: etree._Element, class_name: str, *, skip: frozenset[str] = frozenset()
) -> str | None:
    node = first(_descendants_with(el, class_name))
    text = element_text(node, skip_classes=skip).strip() if node is not None else ""
    return text or None


def _username(info: etree._Element) -> str | None:
    text = _class_text(info, "tgme_channel_info_header_username") or ""
    name = text.strip().lstrip("@").strip().lower()
    return name if name and name.replace("_", "").isalnum() and name.isascii() else None


def _name_from_url(page_url: str) -> str | None:
    parts = split_url(page_url)
    if not parts:
        return None
    segments = parts[2]
    if len(segments) >= 2 and segments[0] == "s":
        return segments[1].lower()
    return None


def _participants(info: etree._Element) -> Counter | None:
    for counter in _descendants_with(info, "tgme_channel_info_counter"):
        kind = (_class_text(counter, "counter_type") or "").lower()
        if kind in _PARTICIPANT_TYPES:
            return counter_or_none(_class_text(counter, "counter_value"))
    return None


def _flags(info: etree._Element) -> frozenset[str]:
    flags: set[str] = set()
    for el in info.iter():
        if not isinstance(el.tag, str):
            continue
        names = classes(el)
        if "verified-icon" in names:
            flags.add("verified")
        if "account_label" in names or "tgme_header_label" in names:
            label = element_text(el).strip().lower()
            if label in ("scam", "fake"):
                flags.add(label)
    return frozenset(flags)
