"""Watchlist files: YAML in (validated whole before anything is written), YAML out.

The format (see config/watchlists/example.yaml) is re-importable from `watchlist export`:

    watchlists:
      - name: public-news
        description: …
        targets:
          - locator: "@durov"
            kind: telegram          # optional; inferred from the locator
            interval: 30m           # optional; s, m, h, d
            tags: [news]
            note: …
            priority: 0
            enabled: true
            options: {}             # per kind; see TARGET_OPTIONS

Files are hostile input: they are composed by crawler.input_limits (no aliases, no duplicate
keys, bounded size and depth), and every field is capped here before a target is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from crawler import input_limits as limits
from crawler.errors import UserError
from crawler.input_limits import InputError, compose_yaml, construct, node_line, shown
from crawler.locators import TargetKind, normalize
from storage.watchlist_store import TargetRow, TargetSpec

DEFAULT_LIST = "default"
DEFAULT_INTERVAL_S = 3600
MIN_INTERVAL_S = 60
_INTERVAL = re.compile(r"(\d+)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TARGET_KEYS = {"locator", "kind", "interval", "tags", "note", "priority", "enabled", "options"}
_LIST_KEYS = {"name", "description", "targets"}
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


class WatchlistFileError(UserError):
    """A watchlist file with bad entries; carries every problem, each with its line."""

    def __init__(self, problems: list[str]) -> None:
        more = len(problems) - limits.MAX_PROBLEMS_SHOWN  # 10,000 lines would say no more
        tail = [f"and {more} more bad entries"] if more > 0 else []
        self.problems = problems[: limits.MAX_PROBLEMS_SHOWN] + tail
        super().__init__(f"{len(problems)} bad entr{'y' if len(problems) == 1 else 'ies'}")


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
    return _at_most(name, limits.MAX_LIST_NAME_CHARS, "a watchlist name")


def _at_most(text: str, limit: int, what: str) -> str:
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
    _at_most(locator, limits.MAX_LOCATOR_CHARS, "a locator")
    if kind is not None and len(kind) > limits.MAX_KIND_CHARS:
        raise UserError(f"unknown target kind {shown(kind)}")
    if isinstance(priority, bool) or abs(priority) > limits.MAX_PRIORITY:
        raise UserError(f"'priority' must be within ±{limits.MAX_PRIORITY}")
    note = _text(note, "note")
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


def _text(value: object, field: str) -> str | None:
    """A note or description: any single YAML value, as text; lists and mappings are refused."""
    if value is None:
        return None
    if not isinstance(value, str | int | float | date):  # bool is an int; dates read as text
        raise UserError(f"{field!r} must be text, not a {type(value).__name__}")
    return _at_most(str(value), limits.MAX_TEXT_CHARS, repr(field))


def _tags(tags: list[Any] | tuple[Any, ...]) -> tuple[str, ...]:
    if len(tags) > limits.MAX_TAGS:
        raise UserError(f"at most {limits.MAX_TAGS} tags per target")
    clean = set()
    for tag in tags:
        if not isinstance(tag, str | int | float):
            raise UserError(f"tags must be words, not a {type(tag).__name__}")
        text = _at_most(str(tag).strip(), limits.MAX_TAG_CHARS, "a tag")
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
    _at_most(css, limits.MAX_OPTION_CHARS, f"option {option!r}")
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
    _at_most(xpath, limits.MAX_OPTION_CHARS, "option 'xpath'")
    try:
        etree.XPath(xpath, namespaces=_XPATH_NAMESPACES)
    except (etree.XPathError, ValueError) as exc:
        raise UserError(f"option 'xpath': invalid XPath {shown(xpath)} ({exc})") from None


@dataclass(frozen=True, slots=True)
class ImportEntry:
    list_name: str
    description: str | None
    spec: TargetSpec
    line: int


def parse_watchlist_yaml(text: str, allow_private: tuple[str, ...] = ()) -> list[ImportEntry]:
    """Every entry of a watchlist file, or WatchlistFileError naming every bad one by line.

    A file refused as a whole (not YAML, aliases, duplicate keys, too big or too deep: see
    crawler.input_limits) raises InputError instead, before any entry is read."""
    root = compose_yaml(text)
    lists = _mapping_value(root, "watchlists")
    if not isinstance(lists, yaml.SequenceNode):
        line = node_line(root) if root is not None else 1
        raise WatchlistFileError([f"line {line}: expected a top-level 'watchlists:' list"])
    _check_counts(lists)
    problems: list[str] = []
    entries: list[ImportEntry] = []
    for list_node in lists.value:
        line = node_line(list_node)
        try:
            name, description = _list_fields(list_node)
        except UserError as exc:
            problems.append(f"line {line}: {_problem(exc)}")
            continue
        targets = _mapping_value(list_node, "targets")
        target_nodes = targets.value if isinstance(targets, yaml.SequenceNode) else []
        if targets is not None and not isinstance(targets, yaml.SequenceNode):
            problems.append(f"line {line}: 'targets' must be a list")
        for node in target_nodes:
            try:
                spec = _target_from(construct(node), allow_private)
            except UserError as exc:
                problems.append(f"line {node_line(node)}: {_problem(exc)}")
                continue
            entries.append(ImportEntry(name, description, spec, node_line(node)))
    if problems:
        raise WatchlistFileError(problems)
    return entries


def _check_counts(lists: yaml.SequenceNode) -> None:
    """Row caps, counted on the nodes so that no entry of an oversized file is built."""
    if len(lists.value) > limits.MAX_LISTS_PER_FILE:
        extra = node_line(lists.value[limits.MAX_LISTS_PER_FILE])
        raise InputError(f"more than {limits.MAX_LISTS_PER_FILE} watchlists in one file", extra)
    count = 0
    for list_node in lists.value:
        targets = _mapping_value(list_node, "targets")
        if not isinstance(targets, yaml.SequenceNode):
            continue
        if count + len(targets.value) > limits.MAX_TARGETS_PER_FILE:
            extra = targets.value[limits.MAX_TARGETS_PER_FILE - count]
            raise InputError(
                f"more than {limits.MAX_TARGETS_PER_FILE} targets in one file", node_line(extra)
            )
        count += len(targets.value)


def _problem(exc: UserError) -> str:
    # The entry's own line leads its problem; an InputError's line would repeat it.
    return exc.problem if isinstance(exc, InputError) else str(exc)


def _list_fields(node: yaml.Node) -> tuple[str, str | None]:
    """A watchlist's name and description; its targets are built (and reported) one by one."""
    data = construct(_without_targets(node))
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise UserError("a watchlist needs a 'name'")
    unknown = set(data) - _LIST_KEYS
    if unknown:
        raise UserError(f"unknown watchlist keys {shown(sorted(unknown, key=str))}")
    return checked_list_name(data["name"]), _text(data.get("description"), "description")


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _without_targets(node: yaml.Node) -> yaml.Node:
    if not isinstance(node, yaml.MappingNode):
        return node
    pairs = [
        (key, value)
        for key, value in node.value
        if not (isinstance(key, yaml.ScalarNode) and key.value == "targets")
    ]
    return yaml.MappingNode(node.tag, pairs, node.start_mark, node.end_mark, node.flow_style)


def _target_from(data: Any, allow_private: tuple[str, ...]) -> TargetSpec:
    if isinstance(data, str):
        data = {"locator": data}
    if not isinstance(data, dict) or not isinstance(data.get("locator"), str):
        raise UserError("a target needs a 'locator' string")
    unknown = set(data) - _TARGET_KEYS
    if unknown:
        raise UserError(f"unknown target keys {shown(sorted(unknown, key=str))}")
    tags = data.get("tags") or []
    options = data.get("options") or {}
    if not isinstance(tags, list) or not isinstance(options, dict):
        raise UserError("'tags' must be a list and 'options' a mapping")
    priority, enabled = data.get("priority", 0), data.get("enabled", True)
    if isinstance(priority, bool) or not isinstance(priority, int) or not isinstance(enabled, bool):
        raise UserError("'priority' must be an integer and 'enabled' true or false")
    kind = data.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise UserError(f"'kind' must be a word, not a {type(kind).__name__}")
    return target_spec(
        data["locator"],
        kind=kind,
        interval=data.get("interval"),
        tags=tags,
        note=_text(data.get("note"), "note"),
        priority=priority,
        enabled=enabled,
        options=options,
        allow_private=allow_private,
    )


def export_yaml(rows: list[TargetRow], descriptions: dict[str, str | None]) -> str:
    lists: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        target: dict[str, Any] = {
            "locator": row.locator,
            "kind": row.kind,
            "interval": format_interval(row.interval_s),
        }
        if row.tags:
            target["tags"] = list(row.tags)
        if row.note:
            target["note"] = row.note
        if row.priority:
            target["priority"] = row.priority
        if not row.enabled:
            target["enabled"] = False
        if row.options:
            target["options"] = row.options
        lists.setdefault(row.watchlist, []).append(target)
    exported = []
    for name, targets in lists.items():
        entry: dict[str, Any] = {"name": name}
        if descriptions.get(name):
            entry["description"] = descriptions[name]
        exported.append({**entry, "targets": targets})
    text = yaml.dump(
        {"watchlists": exported}, Dumper=_ExportDumper, allow_unicode=True, sort_keys=False
    )
    # PyYAML escapes controls in double quotes but writes bidi controls raw. _represent_str put
    # every string holding one in double quotes, so a raw one stands only there, where
    # \uXXXX reads back as the same character.
    return _EXPORT_ESCAPED.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


# Never written raw, so that `cat rooms.yaml` cannot drive or reorder the terminal: C0 but TAB
# and LF, DEL, C1, bidi controls, LS/PS and the BOM. PyYAML would write NEL, LS and PS raw in
# single quotes, where reading folds them to a space, and its reader refuses raw C1 and DEL.
_EXPORT_ESCAPED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]"
)


class _ExportDumper(yaml.SafeDumper):
    """SafeDumper whose strings go in double quotes when they hold a character to escape."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _EXPORT_ESCAPED.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ExportDumper.add_representer(str, _represent_str)
