"""Latin letters and digits read aloud for a syllable: G인능욕 (G is 지), 딥페2크 (2 is 이).

Only readings of one syllable are used (the Korean names of B, C, D, E, G, L, M, N, O, P, Q, R,
T, U and the Sino-Korean digits), one per term occurrence, and only in terms of three or more
syllables: in a two-syllable term the one syllable left in Hangul collides with ordinary text.

Letters are letters to the skeleton, so a letter reading is a literal like any other term key.
Digits are separators there (지1인능욕 is a separated 지인능욕), so a digit reading is matched
as the term without that syllable, and ``digit_in_gap`` then checks that the digit stands in
the text where the syllable was. Digits are only read inside a term, never at its ends, where
they are counts and room numbers (합성방2, 3지인).
"""

from __future__ import annotations

import unicodedata

READINGS_MIN_SYLLABLES = 3
DIGIT_KEY_MIN_UNITS = 3  # the term without its digit-read syllable: shorter keys fire everywhere

LETTER_READINGS = {
    "비": "b", "씨": "c", "시": "c", "디": "d", "이": "e", "지": "g", "쥐": "g", "엘": "l",
    "엠": "m", "엔": "n", "오": "o", "피": "p", "큐": "q", "알": "r", "티": "t", "유": "u",
}  # fmt: skip
DIGIT_READINGS = {
    "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6", "칠": "7", "팔": "8",
    "구": "9", "영": "0", "공": "0",
}  # fmt: skip


def letter_keys(key: str) -> list[str]:
    """The term's folded key with one syllable replaced by a letter that reads as it."""
    if len(key) < READINGS_MIN_SYLLABLES:
        return []
    return [
        key[:i] + LETTER_READINGS[ch] + key[i + 1 :]
        for i, ch in enumerate(key)
        if ch in LETTER_READINGS
    ]


def digit_keys(key: str) -> list[tuple[str, int, str]]:
    """(key without the syllable, units before the gap, digit) for each inner digit reading."""
    if len(key) - 1 < DIGIT_KEY_MIN_UNITS:
        return []
    return [
        (key[:i] + key[i + 1 :], i, DIGIT_READINGS[key[i]])
        for i in range(1, len(key) - 1)
        if key[i] in DIGIT_READINGS
    ]


def digit_in_gap(gap: str, digit: str) -> bool:
    """Is ``gap`` (the text between the two units around the reading) exactly that digit,
    give or take separators? 딥페22크 reads 이이, not 이; full-width ２ is 2."""
    return [unicodedata.digit(ch) for ch in gap if ch.isdigit()] == [int(digit)]
