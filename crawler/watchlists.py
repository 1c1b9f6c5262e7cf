"""Watchlist files in: YAML validated whole before anything is written.

The format (see config/watchlists/example.yaml) is what `watchlist export` writes
(crawler/watchlist_export.py):

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
            options: {}             # per kind; see crawler/watchlist_targets.py

Files are hostile input: they are composed by crawler.input_limits (no aliases, no duplicate
keys, bounded size and depth), and every field is capped (crawler/watchlist_targets.py)
before a target is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from crawler import input_limits as limits
from crawler.errors import UserError
from crawler.input_limits import InputError, compose_yaml, construct, node_line, shown
from crawler.watchlist_targets import checked_list_name, checked_text, target_spec
from storage.watchlist_store import TargetSpec

_TARGET_KEYS = {"locator", "kind", "interval", "tags", "note", "priority", "enabled", "options"}
_LIST_KEYS = {"name", "description", "targets"}


class WatchlistFileError(UserError):
    """A watchlist file with bad entries; carries every problem, each with its line."""

    def __init__(self, problems: list[str]) -> None:
        more = len(problems) - limits.MAX_PROBLEMS_SHOWN  # 10,000 lines would say no more
        tail = [f"and {more} more bad entries"] if more > 0 else []
        self.problems = problems[: limits.MAX_PROBLEMS_SHOWN] + tail
        super().__init__(f"{len(problems)} bad entr{'y' if len(problems) == 1 else 'ies'}")


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
    return checked_list_name(data["name"]), checked_text(data.get("description"), "description")


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
        note=checked_text(data.get("note"), "note"),
        priority=priority,
        enabled=enabled,
        options=options,
        allow_private=allow_private,
    )
