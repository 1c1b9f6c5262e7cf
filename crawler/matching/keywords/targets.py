"""What each pattern in the skeleton database stands for, and where its hit lies.

Every term yields several patterns (literals of its folded self, initials, romanizations,
mixed spellings, letter and digit readings, and the term with one syllable left open for its
slips); each maps to the ``Target`` records that say which rule, term and form it belongs to.
Patterns are Hyperscan expressions in byte mode over the skeleton's UTF-16LE units.
``locate`` turns a pattern's end in the skeleton into the units the hit covers, after the
checks that a pattern alone cannot make (the digit in a reading's gap, the slip's keystroke).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from crawler.matching.keywords import fold, hangul, readings, romanize, slip
from crawler.matching.keywords.rules import Form, Rule

TERM, INITIALS, ALLOW = "term", "initials", "allow"
ROMANIZED, MIXED, LETTER, DIGIT = "romanized", "mixed", "letter", "digit"
SLIP = "slip"

INITIALS_MIN_SYLLABLES = 3
WORD_SCRIPTS_END = 0x0530  # Latin, Greek and Cyrillic letters fold below this code point

FIXED_FORMS = {
    INITIALS: Form.INITIALS,
    ROMANIZED: Form.ROMANIZED,
    MIXED: Form.MIXED_SCRIPT,
    LETTER: Form.LATIN_PHONETIC,
    DIGIT: Form.LATIN_PHONETIC,
    SLIP: Form.JAMO_SLIP,
}
"""Forms known from the key alone; a ``TERM`` hit's form is read off the text it covers."""


@dataclass(frozen=True)
class Target:
    rule: int
    term: str
    kind: str
    length: int  # units the pattern matches
    whole_word: tuple[bool, bool]  # (at start, at end): the hit begins/ends with a word letter
    hangul_start: bool
    key: str = ""  # slips: the term's key, which the hit differs from in one syllable
    gap: int = 0  # digit readings: units of the literal before the digit
    digit: str = ""


def is_word_unit(unit: int) -> bool:
    return 0 < unit < WORD_SCRIPTS_END


def term_targets(index: int, rule: Rule, term: str, key: str) -> Iterator[tuple[bytes, Target]]:
    """(pattern, target) for every form of one term whose folded key is ``key``."""
    yield literal(key), _target(index, term, TERM, key)
    spelled = hangul.initials(term)
    if len(spelled) >= INITIALS_MIN_SYLLABLES and len(spelled) == len(key):
        yield literal(spelled), _target(index, term, INITIALS, spelled)
    for spelling in romanize.romanizations(key):
        yield literal(spelling), _target(index, term, ROMANIZED, spelling)
    for spelling in romanize.mixed_spellings(key):
        yield literal(spelling), _target(index, term, MIXED, spelling)
    for spelling in readings.letter_keys(key):
        yield literal(spelling), _target(index, term, LETTER, spelling)
    for spelling, gap, digit in readings.digit_keys(key):
        yield literal(spelling), _target(index, term, DIGIT, spelling, key, gap, digit)
    if rule.slip and slip.can_slip(key):
        target = _target(index, term, SLIP, key, key)
        for expression in slip_expressions(key):
            yield expression, target


def allow_target(index: int, phrase: str, key: str) -> tuple[bytes, Target]:
    return literal(key), _target(index, phrase, ALLOW, key)


def literal(key: str) -> bytes:
    """The pattern matching exactly the units of ``key``."""
    return _escaped(key.encode("utf-16-le"))


def slip_expressions(key: str) -> list[bytes]:
    """One pattern per syllable of ``key``: the key with that syllable replaced by any other
    syllable (``slip``)."""
    return [literal(key[:n]) + _other_syllable(key[n]) + literal(key[n + 1 :])
            for n in range(len(key))]  # fmt: skip


_SYLLABLE_HIGH_BYTES = bytes(range(hangul.SYLLABLE_FIRST >> 8, (hangul.SYLLABLE_LAST >> 8) + 1))


def _other_syllable(syllable: str) -> bytes:
    """One unit in the syllables' high-byte range other than ``syllable``'s: a low byte that
    differs, or the same low byte and a high byte that differs. (The range ends past U+D7A3,
    the last syllable; the keystroke test turns those few units down.)"""
    low, high = syllable.encode("utf-16-le")
    highs = _SYLLABLE_HIGH_BYTES
    return b"(?:[^%s][%s-%s]|%s[%s])" % (
        _escaped([low]), _escaped(highs[:1]), _escaped(highs[-1:]), _escaped([low]),
        _escaped(b for b in highs if b != high),
    )  # fmt: skip


def _escaped(data: Iterable[int]) -> bytes:
    return b"".join(b"\\x%02x" % byte for byte in data)


def _target(
    rule: int,
    term: str,
    kind: str,
    units: str,
    key: str = "",
    gap: int = 0,
    digit: str = "",
) -> Target:
    return Target(
        rule,
        term,
        kind,
        len(units),
        (is_word_unit(ord(units[0])), is_word_unit(ord(units[-1]))),
        hangul.is_syllable(units[0]),
        key,
        gap,
        digit,
    )


def locate(target: Target, sk: fold.Skeleton, text: str, unit_end: int) -> tuple[int, int] | None:
    """Character span of the hit whose pattern ends before unit ``unit_end``, or None when the
    checks beyond the pattern fail."""
    first = unit_end - target.length
    if target.kind == SLIP and not slip.slipped_span(sk.units, target.key, first):
        return None
    start, end = sk.span(first, unit_end)
    if target.kind == DIGIT:
        gap_start = sk.span(first + target.gap - 1, first + target.gap)[1]
        gap_end = sk.span(first + target.gap, first + target.gap + 1)[0]
        if not readings.digit_in_gap(text[gap_start:gap_end], target.digit):
            return None
    return start, end
