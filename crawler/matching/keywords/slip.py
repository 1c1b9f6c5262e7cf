"""One-jamo slips in long terms (지잉능욕, 지인느욕, 지인능육): opt-in per rule (``slip: true``).

Generating every slipped spelling as a literal costs ~70 keys per syllable (19 initials, 21
vowels, 28 finals, and the added and dropped ones), hundreds per term. Instead a term of n
syllables gets n Hyperscan patterns (``targets.slip_expressions``): the term with one syllable
replaced by any other syllable. Hyperscan thus reports only the places that differ from the
term in exactly one syllable, and only those reach the keystroke test (``slipped_span``).
The term's halves as literals, each hit checked in Python, found the same slips, but 지인 is
in most Korean chat: over the retro-hunt benchmark's texts that check cost a third of the
matching. Slips are kept to terms of four or more syllables and are off by default.

A slip is one jamo added, dropped or replaced in one syllable, counted in keystrokes: compound
vowels and finals are two keys (ㅘ is ㅗㅏ, ㄺ is ㄹㄱ), so 와 → 오 is one slip, as typed.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import cache
from itertools import accumulate

import numpy as np

from crawler.matching.keywords import hangul
from crawler.matching.keywords.rules import Form

SLIP_MIN_SYLLABLES = 4


def can_slip(key: str) -> bool:
    """Is ``key`` all syllables and long enough for its slips to be looked for?"""
    return len(key) >= SLIP_MIN_SYLLABLES and all(hangul.is_syllable(ch) for ch in key)


def slipped_span(units: np.ndarray, key: str, first: int) -> bool:
    """Do ``units[first:first + len(key)]`` spell ``key`` with exactly one syllable slipped?"""
    if first < 0 or first + len(key) > units.size:
        return False
    window = units[first : first + len(key)].tolist()
    slipped = [pair for pair in zip(window, _codes(key), strict=True) if pair[0] != pair[1]]
    return len(slipped) == 1 and _one_keystroke_apart(*slipped[0])


@cache
def _codes(key: str) -> tuple[int, ...]:
    return tuple(map(ord, key))


def unshadowed(
    spans: list[tuple[int, str, int, int, Form]],
) -> list[tuple[int, str, int, int, Form]]:
    """``spans`` (rule, term, start, end, form) without the slips that overlap another hit of
    their rule: in "지인능욕 반대" the exact 지인능욕 must not give way to a slipped 지인능욕방."""
    exact: dict[int, list[tuple[int, int]]] = {}
    for rule, _term, start, end, form in spans:
        if form != Form.JAMO_SLIP:
            exact.setdefault(rule, []).append((start, end))
    starts = {rule: [s for s, _ in sorted(v)] for rule, v in exact.items()}
    # Furthest end among the hits starting before each index: one bisect per slip.
    reach = {rule: list(accumulate((e for _, e in sorted(v)), max)) for rule, v in exact.items()}

    def overlaps(rule: int, start: int, end: int) -> bool:
        before = bisect_left(starts.get(rule, []), end)
        return before > 0 and reach[rule][before - 1] > start

    return [
        span
        for span in spans
        if span[4] != Form.JAMO_SLIP or not overlaps(span[0], span[2], span[3])
    ]


@cache
def _keystrokes(syllable: str) -> str:
    split = hangul.SPLIT_COMPOUNDS
    return "".join(split.get(jamo, jamo) for jamo in hangul.decompose(syllable) if jamo)


@cache
def _one_keystroke_apart(found_unit: int, expected_unit: int) -> bool:
    found, expected = chr(found_unit), chr(expected_unit)
    if not hangul.is_syllable(found):
        return False
    a, b = _keystrokes(found), _keystrokes(expected)
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
