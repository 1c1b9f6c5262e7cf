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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from crawler.errors import UserError
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
        self.problems = problems
        super().__init__(f"{len(problems)} bad entr{'y' if len(problems) == 1 else 'ies'}")


def parse_interval(value: str | int) -> int:
    """Seconds for "30m", "2h", "1d", "90s" or a plain number of seconds."""
    if isinstance(value, bool):
        raise UserError(f"invalid interval {value!r}")
    if isinstance(value, int):
        seconds = value
    else:
        match = _INTERVAL.fullmatch(str(value).strip().lower())
        if match is None:
            raise UserError(f"invalid interval {value!r}: use e.g. 90s, 30m, 6h, 1d")
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds < MIN_INTERVAL_S:
        raise UserError(f"interval {value!r} is shorter than {MIN_INTERVAL_S}s")
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
    return name


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
    normalized = normalize(locator, kind, allow_private)
    clean_tags = tuple(sorted({str(tag).strip() for tag in tags if str(tag).strip()}))
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
        raise UserError(f"unknown option {key!r} for {kind} targets (options they take: {known})")
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
        raise UserError(f"option {option!r} must be a CSS selector string, not {css!r}")
    try:
        selectors = parse(css)
        pseudo = any(selector.pseudo_element for selector in selectors)
        if not pseudo:
            # The spider compiles the translated XPath too, which refuses characters XML forbids.
            etree.XPath(HTMLTranslator().css_to_xpath(css))
    except (SelectorError, etree.XPathError, ValueError) as exc:
        raise UserError(f"option {option!r}: invalid CSS selector {css!r} ({exc})") from None
    if pseudo:
        # parsel accepts ::text and ::attr(), but they select no element: nothing to watch.
        raise UserError(
            f"option {option!r}: {css!r} has a pseudo-element, which selects no element"
        )


def _check_xpath(xpath: Any) -> None:
    from lxml import etree

    if not isinstance(xpath, str):
        raise UserError(f"option 'xpath' must be an XPath string, not {xpath!r}")
    try:
        etree.XPath(xpath, namespaces=_XPATH_NAMESPACES)
    except (etree.XPathError, ValueError) as exc:
        raise UserError(f"option 'xpath': invalid XPath {xpath!r} ({exc})") from None


@dataclass(frozen=True, slots=True)
class ImportEntry:
    list_name: str
    description: str | None
    spec: TargetSpec
    line: int


def parse_watchlist_yaml(text: str, allow_private: tuple[str, ...] = ()) -> list[ImportEntry]:
    """Every entry of a watchlist file, or WatchlistFileError naming every bad one by line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise WatchlistFileError([f"{where}not valid YAML ({problem})"]) from None
    problems: list[str] = []
    entries: list[ImportEntry] = []
    lists = _mapping_value(root, "watchlists")
    if not isinstance(lists, yaml.SequenceNode):
        line = root.start_mark.line + 1 if root is not None else 1
        raise WatchlistFileError([f"line {line}: expected a top-level 'watchlists:' list"])
    for list_node in lists.value:
        line = list_node.start_mark.line + 1
        try:
            data = _construct(_without_targets(list_node))
        except UserError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            problems.append(f"line {line}: a watchlist needs a 'name'")
            continue
        unknown = set(data) - _LIST_KEYS
        if unknown:
            problems.append(f"line {line}: unknown watchlist keys {sorted(unknown)}")
            continue
        try:
            checked_list_name(data["name"])
        except UserError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        targets = _mapping_value(list_node, "targets")
        target_nodes = targets.value if isinstance(targets, yaml.SequenceNode) else []
        if targets is not None and not isinstance(targets, yaml.SequenceNode):
            problems.append(f"line {line}: 'targets' must be a list")
        for node in target_nodes:
            try:
                spec = _target_from(_construct(node), allow_private)
            except UserError as exc:
                problems.append(f"line {node.start_mark.line + 1}: {exc}")
                continue
            line = node.start_mark.line + 1
            entries.append(ImportEntry(data["name"], data.get("description"), spec, line))
    if problems:
        raise WatchlistFileError(problems)
    return entries


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _without_targets(node: yaml.Node) -> yaml.Node:
    """The list's own fields; its targets are built (and reported) one by one."""
    if not isinstance(node, yaml.MappingNode):
        return node
    pairs = [
        (key, value)
        for key, value in node.value
        if not (isinstance(key, yaml.ScalarNode) and key.value == "targets")
    ]
    return yaml.MappingNode(node.tag, pairs, node.start_mark, node.end_mark, node.flow_style)


def _construct(node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except Exception:
        # PyYAML's constructors raise ValueError, AttributeError… for "!!int abc" and the like.
        raise UserError("not valid YAML (a value does not match its tag)") from None


def _target_from(data: Any, allow_private: tuple[str, ...]) -> TargetSpec:
    if isinstance(data, str):
        data = {"locator": data}
    if not isinstance(data, dict) or not isinstance(data.get("locator"), str):
        raise UserError("a target needs a 'locator' string")
    unknown = set(data) - _TARGET_KEYS
    if unknown:
        raise UserError(f"unknown target keys {sorted(unknown)}")
    tags = data.get("tags") or []
    options = data.get("options") or {}
    if not isinstance(tags, list) or not isinstance(options, dict):
        raise UserError("'tags' must be a list and 'options' a mapping")
    priority, enabled = data.get("priority", 0), data.get("enabled", True)
    if isinstance(priority, bool) or not isinstance(priority, int) or not isinstance(enabled, bool):
        raise UserError("'priority' must be an integer and 'enabled' true or false")
    note = data.get("note")
    return target_spec(
        data["locator"],
        kind=data.get("kind"),
        interval=data.get("interval"),
        tags=tags,
        note=None if note is None else str(note),
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
    return yaml.dump(
        {"watchlists": exported}, Dumper=_ExportDumper, allow_unicode=True, sort_keys=False
    )


class _ExportDumper(yaml.SafeDumper):
    """PyYAML writes NEL, LS and PS raw in single quotes, where reading folds them to a space."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ExportDumper.add_representer(str, _represent_str)
