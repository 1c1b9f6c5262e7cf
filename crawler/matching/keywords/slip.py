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

from functools import cache

import numpy as np

from crawler.matching.keywords import hangul

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
    slipped = 0
    for unit, expected in zip(units[first : first + len(key)].tolist(), key, strict=True):
        if unit == ord(expected):
            continue
        slipped += 1
        if slipped > 1 or not _one_keystroke_apart(chr(unit), expected):
            return False
    return slipped == 1


@cache
def _keystrokes(syllable: str) -> str:
    split = hangul.SPLIT_COMPOUNDS
    return "".join(split.get(jamo, jamo) for jamo in hangul.decompose(syllable) if jamo)


def _one_keystroke_apart(found: str, expected: str) -> bool:
    if not hangul.is_syllable(found):
        return False
    a, b = _keystrokes(found), _keystrokes(expected)
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
