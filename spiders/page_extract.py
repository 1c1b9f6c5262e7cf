"""What a watched web page says: a pure function from HTML to text, links and image URLs.

Per-target options (from the watchlist entry's `options`):
- `selector`: a CSS selector for the part of the page to watch (default: the whole body);
- `xpath`: the same as an XPath expression (used when `selector` is absent);
- `ignore`: CSS selectors (a string or a list) for parts that change without meaning it
  (counters, clocks, ads); they are removed before anything is extracted.
Scripts, styles and templates never contribute text: nothing on the page runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawler.observations import Link
from crawler.text import normalized
from crawler.tme_links import one_per_target
from spiders.tme_links import classify_link

_NOT_TEXT = frozenset({"script", "style", "noscript", "template", "head"})
# Links are classified as if seen from t.me, so only Telegram's own hosts count as Telegram.
_TELEGRAM_VIEWPOINT = "https://t.me/"


class OptionError(ValueError):
    """A target's selector options are unusable (reported as the run's error)."""


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    title: str | None
    text: str
    links: tuple[Link, ...]
    image_urls: tuple[str, ...]


def extract_page(html: str, *, url: str, options: Mapping[str, Any]) -> ExtractedPage:
    root = Selector(text=html or "<html></html>", type="html")
    title = normalized(" ".join(root.css("title::text").getall())) or None
    for css in _ignore_list(options.get("ignore")):
        for node in _css(root, css):
            _remove(node.root)
    scope = _scope(root, options)
    texts: list[str] = []
    links: list[Link | None] = []
    images: dict[str, None] = {}
    for part in scope:
        element = part.root
        if not isinstance(element, etree._Element):
            continue
        texts.append(_text(element))
        for anchor in element.iter("a"):
            href = anchor.get("href")
            absolute = urljoin(url, href.strip()) if href else None
            if absolute and urlsplit(absolute).scheme in ("http", "https", "tg"):
                text = "".join(anchor.itertext())
                links.append(classify_link(absolute, text, page_url=_TELEGRAM_VIEWPOINT))
        for img in element.iter("img"):
            src = (img.get("src") or "").strip()
            absolute = urljoin(url, src) if src else ""
            if urlsplit(absolute).scheme in ("http", "https"):
                images.setdefault(absolute, None)
    return ExtractedPage(
        title=title,
        text=normalized(" ".join(texts)),
        links=one_per_target(links),
        image_urls=tuple(images),
    )


def _ignore_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise OptionError("option 'ignore' must be a CSS selector or a list of them")


def _css(root: Selector, css: str) -> list[Selector]:
    try:
        HTMLTranslator().css_to_xpath(css)
    except Exception as exc:  # cssselect raises several parse error types
        raise OptionError(f"invalid CSS selector {css!r}: {exc}") from None
    return list(root.css(css))


def _scope(root: Selector, options: Mapping[str, Any]) -> list[Selector]:
    css, xpath = options.get("selector"), options.get("xpath")
    if css is not None:
        if not isinstance(css, str):
            raise OptionError("option 'selector' must be a CSS selector string")
        return _css(root, css)
    if xpath is not None:
        if not isinstance(xpath, str):
            raise OptionError("option 'xpath' must be an XPath string")
        try:
            return [s for s in root.xpath(xpath) if isinstance(s.root, etree._Element)]
        except ValueError as exc:
            raise OptionError(f"invalid XPath {xpath!r}: {exc}") from None
    return list(root.css("body")) or [root]


def _remove(element: Any) -> None:
    parent = element.getparent() if isinstance(element, etree._Element) else None
    if parent is None:
        return
    # The tail is the parent's text that follows the element: keep it.
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _text(element: etree._Element) -> str:
    """Text in document order; every element boundary is a word boundary (block layout)."""
    parts: list[str] = []
    skipping = 0
    for event, node in etree.iterwalk(element, events=("start", "end")):
        skipped = not isinstance(node.tag, str) or node.tag in _NOT_TEXT
        if event == "start":
            if skipped:
                skipping += 1
            elif not skipping and node.text:
                parts.append(node.text)
            continue
        if skipped:
            skipping -= 1
        if not skipping and node is not element and node.tail:
            parts.append(node.tail)
    return " ".join(parts)
