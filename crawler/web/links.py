"""The links a reviewer may follow from an alert, once they have chosen to reveal them.

Collected URLs are hostile: only plain http(s) URLs to a named host become links (never
`javascript:`, `data:` or a scheme-relative `//host`); anything else is shown as text. A
Telegram source's public page is built from its username, which the collectors validated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.web.text import shown

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    text: str
    href: str | None
    """None: shown as text only (not an http(s) URL)."""


def _href(url: str) -> str | None:
    if len(url) > MAX_URL or any(ord(c) <= 0x20 or c in "\\\x7f" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def public_links(item_url: str | None, source: Mapping[str, Any] | None) -> list[Link]:
    links = []
    if item_url:
        links.append(Link("Item", shown(item_url), _href(item_url)))
    username = (source or {}).get("username") or ""
    if source is not None and source["platform"] == "telegram" and _USERNAME.fullmatch(username):
        url = f"https://t.me/{username}"
        links.append(Link("Channel", url, url))
    return links
