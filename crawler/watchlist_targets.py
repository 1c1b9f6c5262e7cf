"""One watched target, validated: its locator and kind, interval, tags, note and options.

Shared by the commands that add targets one by one and by the watchlist file import
(crawler/watchlists.py); every field is capped (crawler.input_limits) before a target is built,
and options a kind's collector would not read are refused.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from crawler import input_limits as limits
from crawler.errors import UserError
from crawler.input_limits import shown
from crawler.locators import TargetKind, normalize
from storage.watchlist_store import TargetSpec

DEFAULT_LIST = "default"
DEFAULT_INTERVAL_S = 3600
MIN_INTERVAL_S = 60
_INTERVAL = re.compile(r"(\d+)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# What each kind's collector reads from `options` (web pages: spiders/page_extract.py, and the
# page_change matcher for alert_on_change). Anything else would be silently ignored by the
# crawl, so it is refused when the target is added.
TARGET_OPTIONS: dict[TargetKind, frozenset[str]] = {
    TargetKind.WEB_PAGE: frozenset({"selector", "xpath", "ignore", "alert_on_change"}),
    TargetKind.TELEGRAM: frozenset(),
    TargetKind.TME_PREVIEW: frozenset(),
    TargetKind.TELEGRAM_INVITE: frozenset(),
}
# The namespaces parsel gives every XPath the page-watch spider evaluates.
_XPATH_NAMESPACES = {"re": "http://exslt.org/regular-expressions", "set": "http://exslt.org/sets"}


def parse_interval(value: str | int) -> int:
    """Seconds for "30m", "2h", "1d", "90s" or a plain number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UserError(f"invalid interval {shown(value)}")
    if isinstance(value, int):
        seconds = value
    else:
        # Checked before int(): a long run of digits costs quadratic time to convert.
        short = len(value) <= limits.MAX_INTERVAL_CHARS
        match = short and _INTERVAL.fullmatch(value.strip().lower())
        if not match:
            raise UserError(f"invalid interval {shown(value)}: use e.g. 90s, 30m, 6h, 1d")
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds < MIN_INTERVAL_S:
        raise UserError(f"interval {shown(value)} is shorter than {MIN_INTERVAL_S}s")
    if seconds > limits.MAX_INTERVAL_S:
        days = limits.MAX_INTERVAL_S // 86400
        raise UserError(f"interval {shown(value)} is longer than {days} days")
    return seconds


def format_interval(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def checked_list_name(name: str) -> str:
    """A watchlist name as given; an empty or blank one would be a list nobody can name."""
    if not name.strip():
        raise UserError("a watchlist name cannot be empty or only spaces")
    return at_most(name, limits.MAX_LIST_NAME_CHARS, "a watchlist name")


def at_most(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise UserError(f"{what} must be at most {limit} characters")
    return text


def target_spec(
    locator: str,
    *,
    kind: str | None = None,
    interval: str | int | None = None,
    tags: list[str] | tuple[str, ...] = (),
    note: str | None = None,
    priority: int = 0,
    enabled: bool = True,
    options: dict[str, Any] | None = None,
    allow_private: tuple[str, ...] = (),
) -> TargetSpec:
    """Validate and normalize one target; raises UserError with one clear message."""
    at_most(locator, limits.MAX_LOCATOR_CHARS, "a locator")
    if kind is not None and len(kind) > limits.MAX_KIND_CHARS:
        raise UserError(f"unknown target kind {shown(kind)}")
    if isinstance(priority, bool) or abs(priority) > limits.MAX_PRIORITY:
        raise UserError(f"'priority' must be within ±{limits.MAX_PRIORITY}")
    note = checked_text(note, "note")
    normalized = normalize(locator, kind, allow_private)
    clean_tags = _tags(tags)
    clean_options = dict(options or {})
    _check_options(normalized.kind, clean_options)
    return TargetSpec(
        kind=normalized.kind.value,
        locator=normalized.value,
        interval_s=DEFAULT_INTERVAL_S if interval is None else parse_interval(interval),
        tags=clean_tags,
        note=note,
        options=clean_options,
        priority=priority,
        enabled=enabled,
    )


def checked_text(value: object, field: str) -> str | None:
    """A note or description: any single YAML value, as text; lists and mappings are refused."""
    if value is None:
        return None
    if not isinstance(value, str | int | float | date):  # bool is an int; dates read as text
        raise UserError(f"{field!r} must be text, not a {type(value).__name__}")
    return at_most(str(value), limits.MAX_TEXT_CHARS, repr(field))


def _tags(tags: list[Any] | tuple[Any, ...]) -> tuple[str, ...]:
    if len(tags) > limits.MAX_TAGS:
        raise UserError(f"at most {limits.MAX_TAGS} tags per target")
    clean = set()
    for tag in tags:
        if not isinstance(tag, str | int | float):
            raise UserError(f"tags must be words, not a {type(tag).__name__}")
        text = at_most(str(tag).strip(), limits.MAX_TAG_CHARS, "a tag")
        if text:
            clean.add(text)
    return tuple(sorted(clean))


def _check_options(kind: TargetKind, options: dict[str, Any]) -> None:
    """Refuse options `kind` does not read, and selectors the page-watch spider cannot parse."""
    allowed = TARGET_OPTIONS[kind]
    for key in sorted(options, key=str):
        if key in allowed:
            continue
        takes = [str(k) for k, keys in TARGET_OPTIONS.items() if key in keys]
        if takes:
            raise UserError(
                f"option {key!r} does not apply to {kind} targets, only to "
                f"{' and '.join(takes)} targets"
            )
        known = ", ".join(sorted(allowed)) or "none"
        raise UserError(
            f"unknown option {shown(key)} for {kind} targets (options they take: {known})"
        )
    if "selector" in options and "xpath" in options:
        # The spider would silently use the selector and ignore the XPath.
        raise UserError("options 'selector' and 'xpath' both name the part to watch: give one")
    if "selector" in options:
        _check_css("selector", options["selector"])
    if "xpath" in options:
        _check_xpath(options["xpath"])
    ignore = options.get("ignore", [])
    if not isinstance(ignore, str | list):
        raise UserError("option 'ignore' must be a CSS selector or a list of them")
    if isinstance(ignore, list) and len(ignore) > limits.MAX_IGNORE:
        raise UserError(f"option 'ignore' takes at most {limits.MAX_IGNORE} selectors")
    for css in [ignore] if isinstance(ignore, str) else ignore:
        _check_css("ignore", css)
    if not isinstance(options.get("alert_on_change", False), bool):
        raise UserError("option 'alert_on_change' must be true or false")


def _check_css(option: str, css: Any) -> None:
    # cssselect is the parser under parsel's, so under the spider's. Imported here rather than
    # at module level: only commands that validate page options pay for it.
    from cssselect import HTMLTranslator, SelectorError, parse
    from lxml import etree

    if not isinstance(css, str):
        raise UserError(f"option {option!r} must be a CSS selector string, not {shown(css)}")
    at_most(css, limits.MAX_OPTION_CHARS, f"option {option!r}")
    try:
        selectors = parse(css)
        pseudo = any(selector.pseudo_element for selector in selectors)
        if not pseudo:
            # The spider compiles the translated XPath too, which refuses characters XML forbids.
            etree.XPath(HTMLTranslator().css_to_xpath(css))
    except (SelectorError, etree.XPathError, ValueError) as exc:
        raise UserError(f"option {option!r}: invalid CSS selector {shown(css)} ({exc})") from None
    if pseudo:
        # parsel accepts ::text and ::attr(), but they select no element: nothing to watch.
        raise UserError(
            f"option {option!r}: {shown(css)} has a pseudo-element, which selects no element"
        )


def _check_xpath(xpath: Any) -> None:
    from lxml import etree

    if not isinstance(xpath, str):
        raise UserError(f"option 'xpath' must be an XPath string, not {shown(xpath)}")
    at_most(xpath, limits.MAX_OPTION_CHARS, "option 'xpath'")
    try:
        etree.XPath(xpath, namespaces=_XPATH_NAMESPACES)
    except (etree.XPathError, ValueError) as exc:
        raise UserError(f"option 'xpath': invalid XPath {shown(xpath)} ({exc})") from None
