"""Rendering for people and spreadsheets. Every string here is hostile collected text.

Tables neutralize control and bidi characters (which can hide or reorder what a reviewer sees),
show invisible characters as visible markers (rooms hide words behind them) and never interpret
markup; CSV defuses cells a spreadsheet would run as formulas and characters that would drive a
terminal showing the file. JSON stays faithful data but writes those characters as escapes
(`json_text`, the one place every command's JSON goes through).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

# C0/C1 controls, bidi embeddings/overrides/isolates and marks.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile(r"[\r\n\t\u2028\u2029]+")

# Characters that show nothing (or next to nothing) and are used to disguise words: the names a
# reviewer sees in their place. The Hangul fillers are letters to Unicode but render blank.
_INVISIBLE_NAMES = {
    "\u00ad": "SHY",
    "\u034f": "CGJ",
    "\u115f": "HF",
    "\u1160": "HF",
    "\u180e": "MVS",
    "\u200b": "ZWSP",
    "\u200c": "ZWNJ",
    "\u200d": "ZWJ",
    "\u2060": "WJ",
    "\u2800": "BLANK",
    "\u3164": "HF",
    "\ufeff": "BOM",
    "\uffa0": "HF",
}
# The named ones and the rest of Unicode's default-ignorable characters _UNSAFE leaves alone
# (invisible operators, Khmer inherent vowels, Mongolian selectors, tags, …), shown by code
# point, with the interlinear annotation marks. Variation selectors stay: emoji and CJK variants
# need them. The Arabic number signs and Egyptian hieroglyph controls are format characters too,
# but visible ones.
_INVISIBLE = re.compile(
    "[" + "".join(_INVISIBLE_NAMES)
    + "\u17b4\u17b5\u180b-\u180f\u2061-\u2065\u206a-\u206f\ufff0-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f\U000e01f0-\U000e0fff]"
)  # fmt: skip
_ZWJ = "\u200d"

_FORMULA_START = frozenset("=+-@")
# OWASP's list: a cell starting with TAB or CR is guarded whatever follows (CR has become LF).
_GUARDED_FIRST = ("\t", "\n")
# What a `cat` of a CSV file would let drive or reorder the terminal: C0 and C1 controls, DEL,
# the bidi controls and the Unicode line/paragraph separators. TAB and LF are text; CR is
# turned into LF before this (see _csv_text).
_CSV_UNSAFE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)

# What json.dumps leaves raw that a `cat` of the output would let drive or reorder a terminal:
# DEL, C1 controls, bidi controls and the Unicode line/paragraph separators (C0 it escapes).
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

# Pipes and logs have no width; rich would assume 80 there and cut every long cell.
PIPE_WIDTH = 200


def _is_pictographic(char: str) -> bool:
    """Emoji and the symbols emoji ZWJ sequences join (👨‍👩‍👧, 👮‍♀️), with VS16 after them."""
    code = ord(char)
    return code == 0xFE0F or 0x2190 <= code <= 0x2BFF or 0x1F000 <= code <= 0x1FAFF


def _show_invisible(text: str) -> str:
    def marker(match: re.Match[str]) -> str:
        char, at = match.group(), match.start()
        # A joiner between two emoji builds one picture; anywhere else it is a disguise.
        if (char == _ZWJ and 0 < at < len(text) - 1 and _is_pictographic(text[at - 1])
                and _is_pictographic(text[at + 1])):  # fmt: skip
            return char
        return f"⟨{_INVISIBLE_NAMES.get(char) or f'U+{ord(char):04X}'}⟩"

    return _INVISIBLE.sub(marker, text)


def terminal_safe(value: object, width: int | None = None) -> str:
    """One line with no control or bidi character and every invisible character made visible,
    cut to ``width`` characters with an ellipsis."""
    text = "" if value is None else str(value)
    text = _show_invisible(_UNSAFE.sub("\ufffd", _NEWLINES.sub(" ", text)))
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _hides_nothing(char: str) -> bool:
    """Characters a spreadsheet may skip before deciding that a cell is a formula."""
    return char.isspace() or unicodedata.category(char) in ("Cf", "Cc") or char in _INVISIBLE_NAMES


def _csv_text(text: str) -> str:
    # A bare CR returns a terminal's cursor and lets what follows overwrite the line shown.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CSV_UNSAFE.sub("\ufffd", text)


def _starts_formula(text: str) -> bool:
    if text.startswith(_GUARDED_FIRST):
        return True
    for char in text:
        if not _hides_nothing(char):
            # NFKC folds the fullwidth and small forms (＝ ＋ － ＠ ﹦ …) that spreadsheets and
            # input methods turn into their ASCII selves.
            return unicodedata.normalize("NFKC", char)[:1] in _FORMULA_START
    return False


def spreadsheet_safe(value: object) -> str:
    """The cell as a spreadsheet and a terminal may both take it: controls replaced, and a
    leading apostrophe when the first visible character (fullwidth forms included) starts a
    formula or the cell starts with TAB, CR or LF."""
    text = _csv_text("" if value is None else str(value))
    return "'" + text if _starts_formula(text) else text


def utc_time(value: str | datetime | None) -> str:
    """`2024-08-27 13:05:09` from an ISO 8601 time or a datetime: to the second, in UTC, with no
    offset (the caller says UTC once, in a header or a label)."""
    if value is None:
        return "-"
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError:
        return str(value)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def table_width() -> int:
    """Columns tables are laid out for: COLUMNS when set (the user's say, and how tests pin a
    width), else the terminal's width, else PIPE_WIDTH."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    console = Console()
    return console.width if console.is_terminal else PIPE_WIDTH


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str | None = None,
    flexible: Collection[str] | None = None,
    compact: bool = False,
) -> None:
    """One line per row: cells too long for their column end in an ellipsis, never fold.

    ``flexible`` names the columns that give up width when the table is too wide (default: all),
    so short ones such as ids, times and statuses stay whole. ``compact`` drops the borders for
    tables that must fit 80 columns.
    """
    if compact:
        table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      padding=(0, 1, 0, 0))  # fmt: skip
    else:
        table = Table(title=title, show_lines=False)
    for column in columns:
        # rich narrows only columns it may wrap; the cells themselves never wrap (below).
        shrinks = flexible is None or column in flexible
        table.add_column(Text(column), no_wrap=not shrinks, overflow="ellipsis")
    for row in rows:
        # Text(...) is never parsed for markup, so "[bold]" in a post stays literal.
        table.add_row(
            *(Text(terminal_safe(cell, 120), no_wrap=True, overflow="ellipsis") for cell in row)
        )
    Console(width=table_width()).print(table)


def json_text(data: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """JSON that is faithful data (`json.loads` gives `data` back exactly) and safe to `cat`:
    every character in _JSON_UNSAFE is written as a \\uXXXX escape, the rest of Unicode raw."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
    # JSON's own syntax is ASCII, so these can only stand inside strings, where an escape
    # means the same character.
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def print_json(data: Any) -> None:
    sys.stdout.write(json_text(data, indent=2) + "\n")


def print_ndjson(records: Iterable[Any]) -> None:
    for record in records:
        sys.stdout.write(json_text(record) + "\n")


def print_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    sys.stdout.write(buffer.getvalue())
