"""Collected text made safe to show in a page, before Jinja escapes it.

Autoescaping stops markup; it does not stop a bidi override reordering what a reviewer reads, a
control character, or a zero-width space hiding a word. Each line goes through the terminal's
`terminal_safe` (controls and bidi replaced, invisible characters shown by name), so the page
and the CLI show a text the same way; line breaks are kept (the template shows them with
`white-space: pre-wrap`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from crawler.cli.output import terminal_safe

_LINES = re.compile(r"\r\n|[\r\n\u2028\u2029]")


def shown(value: object) -> str:
    """`value` as text for a page: every line neutralized, line breaks kept."""
    text = "" if value is None else str(value)
    return "\n".join(terminal_safe(line) for line in _LINES.split(text))


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    matched: bool


def highlighted(text: str, spans: Sequence[tuple[int, int]]) -> list[Segment]:
    """`text` cut into neutralized segments, `matched` where a span covers it. Spans are
    character offsets into the raw text (as the keyword engine reports them); overlapping and
    out-of-range ones are merged and clipped. Each piece is neutralized on its own, so a marker
    never straddles a highlight's edge."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    segments, at = [], 0
    for start, end in merged:
        if start > at:
            segments.append(Segment(shown(text[at:start]), False))
        segments.append(Segment(shown(text[start:end]), True))
        at = end
    if at < len(text) or not segments:
        segments.append(Segment(shown(text[at:]), False))
    return segments


def when(value: object) -> str:
    """A stored time as reviewers read it: ``2024-08-27 13:05:09 UTC`` (to the second; the
    stored value keeps its microseconds). Anything that is not a time is shown as it is."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
