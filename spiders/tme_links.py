"""Classify links found in preview posts: the raw material for discovering new rooms.

Rooms are found and re-found through chains of invite links, folder links, mentions and
forwards, so every Telegram-shaped URL is typed; anything else is `external`.
The recorded URL is always the href (resolved), never the visible text: hidden links whose
text shows one address and whose href goes elsewhere are a common evasion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crawler.observations import Link, LinkKind
from spiders.tme_markup import absolute_url, split_url

TELEGRAM_HOSTS = frozenset(
    {"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog", "www.telegram.dog"}
)
# Telegram usernames: a letter, then letters, digits or underscores, 4 to 32 long in total
# (5 is the minimum for new names, but short collectible names exist).
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
# First path segments on t.me that are features, not usernames.
_RESERVED = frozenset(
    {
        "s",
        "c",
        "joinchat",
        "addlist",
        "share",
        "proxy",
        "socks",
        "addstickers",
        "addemoji",
        "addtheme",
        "setlanguage",
        "bg",
        "login",
        "iv",
        "contact",
        "boost",
        "confirmphone",
        "giftcode",
        "invoice",
        "apps",
        "blog",
        "faq",
        "dl",
        "v",
        "k",
        "a",
        "z",
    }
)
_INVITE_HASH = re.compile(r"[A-Za-z0-9_\-]{6,64}")
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
    if not segments:
        return None
    head = segments[0]
    if head.startswith("+"):
        invite = head[1:]
        # t.me/+14155550123 is a phone number, not an invite.
        if _INVITE_HASH.fullmatch(invite) and not invite.isdigit():
            return Link(url=url, kind=LinkKind.INVITE, target=invite)
        return None
    if head.lower() == "joinchat" and len(segments) > 1 and _INVITE_HASH.fullmatch(segments[1]):
        return Link(url=url, kind=LinkKind.INVITE, target=segments[1])
    if head.lower() == "addlist" and len(segments) > 1 and _INVITE_HASH.fullmatch(segments[1]):
        return Link(url=url, kind=LinkKind.INVITE, target=f"addlist/{segments[1]}")
    if head.lower() == "s" and len(segments) > 1:
        head = segments[1]
    elif head.lower() in _RESERVED:
        return None
    if not _USERNAME.fullmatch(head):
        return None
    kind = LinkKind.MENTION if text.strip().startswith("@") else LinkKind.CHANNEL
    return Link(url=url, kind=kind, target=head.lower())


def _classify_tg_scheme(url: str, host: str, query: dict[str, list[str]]) -> Link | None:
    if host == "resolve":
        domain = (query.get("domain") or [""])[0]
        if _USERNAME.fullmatch(domain):
            return Link(url=url, kind=LinkKind.CHANNEL, target=domain.lower())
    if host == "join":
        invite = (query.get("invite") or [""])[0]
        if _INVITE_HASH.fullmatch(invite):
            return Link(url=url, kind=LinkKind.INVITE, target=invite)
    return None


def is_username(text: str) -> bool:
    return bool(_USERNAME.fullmatch(text)) and text.lower() not in _RESERVED


def unique_links(links: Iterable[Link | None]) -> tuple[Link, ...]:
    """Links in first-seen order without repeats (a post often links the same room twice)."""
    seen: dict[Link, None] = {}
    for link in links:
        if link is not None:
            seen.setdefault(link, None)
    return tuple(seen)
