"""Rendering for people and spreadsheets. Every string here is hostile collected text.

Tables neutralize control and bidi characters (which can hide or reorder what a reviewer sees)
and never interpret markup; CSV defuses cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# C0/C1 controls, bidi embeddings/overrides/isolates and marks, zero-width joiners aside.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile(r"[\r\n\t\u2028\u2029]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def terminal_safe(value: object, width: int | None = None) -> str:
    text = "" if value is None else str(value)
    text = _UNSAFE.sub("\ufffd", _NEWLINES.sub(" ", text))
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def spreadsheet_safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None
) -> None:
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text(...) is never parsed for markup, so "[bold]" in a post stays literal.
        table.add_row(*(Text(terminal_safe(cell, 120)) for cell in row))
    console = Console()
    if not console.is_terminal:
        # Pipes and logs have no width; rich would assume 80 and fold every cell.
        console = Console(width=200)
    console.print(table)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_ndjson(records: Iterable[Any]) -> None:
    for record in records:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def print_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    sys.stdout.write(buffer.getvalue())
