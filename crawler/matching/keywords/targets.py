"""What each literal in the skeleton database stands for, and where its hit lies.

Every term yields several keys (its folded self, initials, romanizations, mixed spellings,
letter and digit readings, and the halves its slips are found from); each key maps to the
``Target`` records that say which rule, term and form it belongs to. ``locate`` turns a
literal's end in the skeleton into the units the hit covers, after the checks that a literal
alone cannot make (the digit in a reading's gap, the slipped syllable next to a half).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from crawler.matching.keywords import fold, hangul, readings, romanize, slip
from crawler.matching.keywords.rules import Form, Rule

TERM, INITIALS, ALLOW = "term", "initials", "allow"
ROMANIZED, MIXED, LETTER, DIGIT = "romanized", "mixed", "letter", "digit"
SLIP_FIRST_HALF, SLIP_SECOND_HALF = "slip_first_half", "slip_second_half"

INITIALS_MIN_SYLLABLES = 3
WORD_SCRIPTS_END = 0x0530  # Latin, Greek and Cyrillic letters fold below this code point

FIXED_FORMS = {
    INITIALS: Form.INITIALS,
    ROMANIZED: Form.ROMANIZED,
    MIXED: Form.MIXED_SCRIPT,
    LETTER: Form.LATIN_PHONETIC,
    DIGIT: Form.LATIN_PHONETIC,
    SLIP_FIRST_HALF: Form.JAMO_SLIP,
    SLIP_SECOND_HALF: Form.JAMO_SLIP,
}
"""Forms known from the key alone; a ``TERM`` hit's form is read off the text it covers."""


@dataclass(frozen=True)
class Target:
    rule: int
    term: str
    kind: str
    length: int  # units in the literal
    whole_word: tuple[bool, bool]  # (at start, at end): the hit begins/ends with a word letter
    hangul_start: bool
    key: str = ""  # slips: the whole term's key, checked around the half that matched
    gap: int = 0  # digit readings: units of the literal before the digit
    digit: str = ""


def is_word_unit(unit: int) -> bool:
    return 0 < unit < WORD_SCRIPTS_END


def term_targets(index: int, rule: Rule, term: str, key: str) -> Iterator[tuple[str, Target]]:
    """(literal, target) for every form of one term whose folded key is ``key``."""
    yield key, _target(index, term, TERM, key)
    spelled = hangul.initials(term)
    if len(spelled) >= INITIALS_MIN_SYLLABLES and len(spelled) == len(key):
        yield spelled, _target(index, term, INITIALS, spelled)
    for spelling in romanize.romanizations(key):
        yield spelling, _target(index, term, ROMANIZED, spelling)
    for spelling in romanize.mixed_spellings(key):
        yield spelling, _target(index, term, MIXED, spelling)
    for spelling in readings.letter_keys(key):
        yield spelling, _target(index, term, LETTER, spelling)
    for literal, gap, digit in readings.digit_keys(key):
        yield literal, _target(index, term, DIGIT, literal, key, gap, digit)
    halves = slip.halves(key) if rule.slip else None
    if halves:
        # The span of a slip is the whole term, so its word checks are the term's.
        yield halves[0], _target(index, term, SLIP_FIRST_HALF, halves[0], key, like=key)
        yield halves[1], _target(index, term, SLIP_SECOND_HALF, halves[1], key, like=key)


def allow_target(index: int, phrase: str, key: str) -> Target:
    return _target(index, phrase, ALLOW, key)


def _target(
    rule: int,
    term: str,
    kind: str,
    literal: str,
    key: str = "",
    gap: int = 0,
    digit: str = "",
    like: str | None = None,
) -> Target:
    shape = like or literal
    return Target(
        rule,
        term,
        kind,
        len(literal),
        (is_word_unit(ord(shape[0])), is_word_unit(ord(shape[-1]))),
        hangul.is_syllable(shape[0]),
        key,
        gap,
        digit,
    )


def locate(target: Target, sk: fold.Skeleton, text: str, unit_end: int) -> tuple[int, int] | None:
    """Character span of the hit whose literal ends before unit ``unit_end``, or None when the
    checks beyond the literal fail."""
    first = unit_end - target.length
    if target.kind == SLIP_FIRST_HALF:
        if not slip.slipped_span(sk.units, target.key, first):
            return None
        unit_end = first + len(target.key)
    elif target.kind == SLIP_SECOND_HALF:
        first = unit_end - len(target.key)
        if not slip.slipped_span(sk.units, target.key, first):
            return None
    start, end = sk.span(first, unit_end)
    if target.kind == DIGIT:
        gap_start = sk.span(first + target.gap - 1, first + target.gap)[1]
        gap_end = sk.span(first + target.gap, first + target.gap + 1)[0]
        if not readings.digit_in_gap(text[gap_start:gap_end], target.digit):
            return None
    return start, end
