"""One-jamo slips in long terms (지잉능욕, 지인느욕, 지인능육): opt-in per rule (``slip: true``).

Generating every slipped spelling as a literal costs ~70 keys per syllable (19 initials, 21
vowels, 28 finals, and the added and dropped ones), hundreds per term. Instead a slip in one
syllable leaves one half of the term intact: the first ⌊n/2⌋ syllables or the rest. Both
halves are literals; a hit of a half is checked against the skeleton units around it
(``slipped_span``), which is cheap next to Hyperscan but runs for every occurrence of a half,
so it is kept to terms of four or more syllables (halves of two or more) and off by default.

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


def halves(key: str) -> tuple[str, str] | None:
    """(first half, second half) of an all-syllable key long enough to slip, else None."""
    if len(key) < SLIP_MIN_SYLLABLES or not all(hangul.is_syllable(ch) for ch in key):
        return None
    cut = len(key) // 2
    return key[:cut], key[cut:]


def slipped_span(units: np.ndarray, key: str, first: int) -> bool:
    """Do ``units[first:first + len(key)]`` spell ``key`` with exactly one syllable slipped?"""
    if first < 0 or first + len(key) > units.size:
        return False
    # Called for every occurrence of a half (지인 is everywhere in Korean chat): count the
    # differences first, then ask the cached keystroke test about the only one.
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
