"""Type a Telegram-shaped URL: channel, invite (or folder), or external.

One set of rules for every collector (the API collector's entities, the preview spider's
hrefs): rooms are found and re-found through t.me links, invite links and folder links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from crawler.observations import Link, LinkKind

TELEGRAM_HOSTS = frozenset(
    {"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog", "www.telegram.dog"}
)
USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
INVITE_HASH = re.compile(r"[A-Za-z0-9_\-]{6,64}")
# First path segments on t.me that are features, not usernames.
RESERVED = frozenset(
    {
        "s", "c", "joinchat", "addlist", "share", "proxy", "socks", "addstickers", "addemoji",
        "addtheme", "setlanguage", "bg", "login", "iv", "contact", "boost", "confirmphone",
        "giftcode", "invoice", "apps", "blog", "faq", "dl", "v", "k", "a", "z",
    }
)  # fmt: skip


def classify_url(url: str) -> Link:
    """A typed link; anything not Telegram-shaped (or unparsable) is external."""
    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    except ValueError:
        return Link(url=url, kind=LinkKind.EXTERNAL)
    if scheme == "tg":
        return tg_scheme_link(url, host, parse_qs(parts.query))
    if host not in TELEGRAM_HOSTS:
        return Link(url=url, kind=LinkKind.EXTERNAL)
    segments = [segment for segment in parts.path.split("/") if segment]
    return telegram_path_link(url, segments) or Link(url=url, kind=LinkKind.EXTERNAL)


def telegram_path_link(url: str, segments: list[str]) -> Link | None:
    """The link a t.me path names (channel or invite), or None when it names neither."""
    if not segments:
        return None
    head = segments[0]
    if head.startswith("+"):
        invite = head[1:]
        # t.me/+14155550123 is a phone number, not an invite.
        if INVITE_HASH.fullmatch(invite) and not invite.isdigit():
            return Link(url=url, kind=LinkKind.INVITE, target=invite)
        return None
    lowered = head.lower()
    if lowered == "joinchat" and len(segments) > 1 and INVITE_HASH.fullmatch(segments[1]):
        return Link(url=url, kind=LinkKind.INVITE, target=segments[1])
    if lowered == "addlist" and len(segments) > 1 and INVITE_HASH.fullmatch(segments[1]):
        return Link(url=url, kind=LinkKind.INVITE, target=f"addlist/{segments[1]}")
    if lowered == "s" and len(segments) > 1:
        head = segments[1]
    elif lowered in RESERVED:
        return None
    if not USERNAME.fullmatch(head):
        return None
    return Link(url=url, kind=LinkKind.CHANNEL, target=head.lower())


def tg_scheme_link(url: str, host: str, query: dict[str, list[str]]) -> Link:
    if host == "resolve":
        domain = (query.get("domain") or [""])[0]
        if USERNAME.fullmatch(domain):
            return Link(url=url, kind=LinkKind.CHANNEL, target=domain.lower())
    if host == "join":
        invite = (query.get("invite") or [""])[0]
        if INVITE_HASH.fullmatch(invite):
            return Link(url=url, kind=LinkKind.INVITE, target=invite)
    return Link(url=url, kind=LinkKind.EXTERNAL)


# A mention is a channel link written as "@name": the more specific kind of the same target.
_SPECIFICITY = {LinkKind.EXTERNAL: 0, LinkKind.CHANNEL: 1, LinkKind.MENTION: 2}


def one_per_target(links: Iterable[Link | None]) -> tuple[Link, ...]:
    """One link per target URL in first-seen order, of the most specific kind seen for it: a
    room named as "@room" and as a "t.me/Room" button is one reference, not two. Both
    collectors (the API's entities, the preview's hrefs) keep this rule."""
    best: dict[str, Link] = {}
    for link in links:
        if link is None:
            continue
        key = _target_key(link)
        kept = best.get(key)
        if kept is None or _SPECIFICITY.get(link.kind, 1) > _SPECIFICITY.get(kept.kind, 1):
            best[key] = link  # a dict keeps the first-seen position of a replaced key
    return tuple(best.values())


def _target_key(link: Link) -> str:
    """The URL without scheme, "www." and trailing "/"; a room's name in any case is one room
    (invite hashes are case-sensitive and keep theirs)."""
    url = link.url.strip()
    rest = url.split("://", 1)[1] if "://" in url else url
    rest = rest.removeprefix("www.").rstrip("/")
    if link.kind in (LinkKind.CHANNEL, LinkKind.MENTION):
        rest = rest.lower()
    for alias in ("telegram.me/", "telegram.dog/"):
        if rest.lower().startswith(alias):
            rest = "t.me/" + rest[len(alias) :]
    return rest
