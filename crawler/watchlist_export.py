"""Watchlist files out: targets as YAML that `watchlist import` (crawler/watchlists.py) reads
back, safe to print to a terminal."""

from __future__ import annotations

import re
from typing import Any

import yaml

from crawler.watchlist_targets import format_interval
from storage.watchlist_store import TargetRow


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
