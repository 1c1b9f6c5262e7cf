"""Characters that render as nothing, defined once for the keyword matchers and for search.

Rooms hide words from filters by putting invisible characters inside them (겹<U+200B>지인방).
The keyword matchers drop these with every other non-letter; search drops exactly these, so
that a query finds the word however it was padded while spaces and punctuation still count.

The set is Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): the zero-width
space, joiners and marks, bidi controls, the word joiner, the BOM, the soft hyphen, variation
selectors, tag characters, and the Hangul fillers, which Unicode calls letters although they
show nothing. Format characters that do show (the Arabic number signs) are not in it.

It lives in storage because the search index stores text in this folded form and storage may
import nothing from crawler; the matchers import it from here. Changing it changes what indexed
rows should contain: a migration must then re-queue the rows holding what was added or removed.
"""

from __future__ import annotations

import re

# (first, last) code points, inclusive, in code point order.
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, ZWNJ, ZWJ, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated formats
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # BOM, zero-width no-break space
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),  # reserved, default-ignorable
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical beam and phrase controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors 17–256, reserved
)

INVISIBLE: frozenset[int] = frozenset(
    cp for first, last in INVISIBLE_RANGES for cp in range(first, last + 1)
)


def _bracket(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + "".join(f"{chr(first)}-{chr(last)}" for first, last in ranges) + "]"


# One bracket expression that Python's re, PostgreSQL's regular expressions and SQLite's GLOB
# all read the same way: ranges of literal characters, none of them `]`, `^`, `-` or `\`.
INVISIBLE_CLASS = _bracket(INVISIBLE_RANGES)

_INVISIBLE_RE = re.compile(INVISIBLE_CLASS)
# A superset that finds "none here" 2.5 times faster: Python's regex engine tests the BMP part
# of a class with one table look-up but each range beyond it separately, so those become one.
_BMP = tuple((first, last) for first, last in INVISIBLE_RANGES if last <= 0xFFFF)
_BEYOND_BMP = INVISIBLE_RANGES[len(_BMP) :]
_MAYBE_INVISIBLE_RE = re.compile(_bracket((*_BMP, (_BEYOND_BMP[0][0], _BEYOND_BMP[-1][1]))))


def without_invisible(text: str) -> str:
    """``text`` with every invisible character removed: the form search indexes and compares."""
    # Most text has none: the superset search is all it costs (the search indexer's hot path).
    return _INVISIBLE_RE.sub("", text) if _MAYBE_INVISIBLE_RE.search(text) else text
