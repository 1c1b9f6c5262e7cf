"""Small, total helpers over lxml elements of preview markup: classes, text, style URLs, URLs.

"Total" because the markup is untrusted: every helper returns None or an empty value rather
than raising, so one odd element costs one field, not the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

from lxml import etree

_BACKGROUND_URL = re.compile(
    r"background(?:-image)?\s*:[^;]*?url\(\s*(?P<q>['\"]?)(?P<url>.*?)(?P=q)\s*\)",
    re.IGNORECASE | re.DOTALL,
)
# Raw-text elements: their content is code or styling, never message text.
_NOT_TEXT = frozenset({"script", "style", "template", "noscript", "svg"})
_MAX_ID = 2**63 - 1


def classes(el: etree._Element) -> frozenset[str]:
    value = el.get("class") if isinstance(el.tag, str) else None
    return frozenset(value.split()) if value else frozenset()


def has_class(el: etree._Element, name: str) -> bool:
    return name in classes(el)


def inside(el: etree._Element, stop: etree._Element, class_names: Iterable[str]) -> bool:
    """Whether an ancestor of `el` strictly below `stop` carries one of `class_names`."""
    wanted = frozenset(class_names)
    for ancestor in el.iterancestors():
        if ancestor is stop:
            return False
        if classes(ancestor) & wanted:
            return True
    return False


def first(elements: Iterable[etree._Element]) -> etree._Element | None:
    return next(iter(elements), None)


def element_text(
    el: etree._Element,
    *,
    skip_classes: frozenset[str] = frozenset(),
    skip_tags: frozenset[str] = frozenset(),
) -> str:
    """Visible text of `el`: `<br>` becomes a newline, link and emoji text are kept.

    Elements carrying one of `skip_classes` (or named in `skip_tags`) are left out with their
    content (their tail, which belongs to the parent, is kept). Walks iteratively: hostile
    markup can nest deeply.
    """
    parts: list[str] = []
    skipping = 0
    for event, node in etree.iterwalk(el, events=("start", "end")):
        is_element = isinstance(node.tag, str)
        skipped = is_element and (
            node.tag in _NOT_TEXT
            or node.tag in skip_tags
            or bool(skip_classes and classes(node) & skip_classes)
        )
        if event == "start":
            if skipped:
                skipping += 1
            elif not skipping and is_element:
                if node.tag == "br":
                    parts.append("\n")
                elif node.text:
                    parts.append(node.text)
            continue
        if skipped:
            skipping -= 1
        if not skipping and node is not el and node.tail:
            parts.append(node.tail)
    return "".join(parts)


def style_url(style: str | None) -> str | None:
    """The URL in a `background-image:url(...)` style, single-, double- or un-quoted."""
    if not style:
        return None
    match = _BACKGROUND_URL.search(style)
    if match is None:
        return None
    url = match.group("url").strip()
    return url or None


def absolute_url(href: str | None, base: str) -> str | None:
    """`href` resolved against `base`, or None when it is empty or not a parseable URL."""
    if href is None or not href.strip():
        return None
    try:
        resolved = urljoin(base, href.strip())
        urlsplit(resolved).hostname  # noqa: B018 - raises on a malformed netloc
    except ValueError:
        return None
    return resolved


def split_url(url: str) -> tuple[str, str, list[str], dict[str, list[str]]] | None:
    """(scheme, host, path segments, query) of `url`; None when it does not parse."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    return parts.scheme.lower(), host, segments, parse_qs(parts.query, keep_blank_values=True)


def parse_id(raw: str | None) -> int | None:
    """A positive message id, or None (including for absurdly long digit strings)."""
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= _MAX_ID else None


def permalink_id(url: str | None, base: str) -> int | None:
    """The message id in a permalink like https://t.me/name/123 or /name/123?single."""
    resolved = absolute_url(url, base)
    parts = split_url(resolved) if resolved else None
    if not parts or not parts[2]:
        return None
    return parse_id(parts[2][-1])


def walk_elements(el: etree._Element) -> Iterator[etree._Element]:
    """Descendant elements in document order, skipping comments and processing instructions."""
    for node in el.iterdescendants():
        if isinstance(node.tag, str):
            yield node
