"""Classify links found in preview posts: the raw material for discovering new rooms.

Rooms are found and re-found through chains of invite links, folder links, mentions and
forwards, so every Telegram-shaped URL is typed; anything else is `external`.
The recorded URL is always the href (resolved), never the visible text: hidden links whose
text shows one address and whose href goes elsewhere are a common evasion.
"""

from __future__ import annotations

from crawler.observations import Link, LinkKind
from crawler.tme_links import (
    RESERVED,
    TELEGRAM_HOSTS,
    USERNAME,
    telegram_path_link,
    tg_scheme_link,
)
from spiders.tme_markup import absolute_url, split_url

_SEARCH_PREFIXES = ("#", "$")


def classify_link(href: str | None, text: str, *, page_url: str) -> Link | None:
    """A typed `Link` for an `<a href>` in a post, or None for non-web schemes.

    Telegram hosts are t.me and its aliases plus the page's own host, so a mirror (or the
    fixture site) that rewrites t.me links to itself is still understood. Channel and mention
    targets are lower-case usernames without "@"; invite targets are the case-sensitive hash
    ("addlist/SLUG" for folder links); hashtag targets keep their "#" (or "$" for cashtags).
    """
    url = absolute_url(href, page_url)
    parts = split_url(url) if url else None
    if url is None or parts is None:
        return None
    scheme, host, segments, query = parts
    if scheme == "tg":
        return _classify_tg_scheme(url, host, query)
    if scheme not in ("http", "https") or not host:
        return None
    page_parts = split_url(page_url)
    page_host = page_parts[1] if page_parts else ""
    if host not in TELEGRAM_HOSTS and host != page_host:
        return Link(url=url, kind=LinkKind.EXTERNAL)
    search = (query.get("q") or [""])[0].strip()
    if search.startswith(_SEARCH_PREFIXES) and len(search) > 1:
        return Link(url=url, kind=LinkKind.HASHTAG, target=search)
    typed = _classify_telegram_path(url, segments, text)
    return typed or Link(url=url, kind=LinkKind.EXTERNAL)


def _classify_telegram_path(url: str, segments: list[str], text: str) -> Link | None:
    link = telegram_path_link(url, segments)
    if link is not None and link.kind is LinkKind.CHANNEL and text.strip().startswith("@"):
        return Link(url=url, kind=LinkKind.MENTION, target=link.target)
    return link


def _classify_tg_scheme(url: str, host: str, query: dict[str, list[str]]) -> Link | None:
    link = tg_scheme_link(url, host, query)
    return None if link.kind is LinkKind.EXTERNAL else link


def is_username(text: str) -> bool:
    return bool(USERNAME.fullmatch(text)) and text.lower() not in RESERVED


