"""Text → skeleton: the letters of a text, folded, with each one's span in the original.

Matching happens on the skeleton, not on the text, so one literal per term catches every
separated, look-alike and spelled-out form. Folding is one table look-up per character done
by numpy over the UTF-16 code units (UTF-32 when the text has characters beyond the BMP, so
that there is always one array element per ``str`` character): a pure-Python pass per
character was several times too slow for the throughput target, and because the array index
*is* the ``str`` index, spans map back to the original without byte-offset arithmetic.

Folding rules, one 16-bit unit per character:

- A *separator* is every character that is not a letter (Unicode category L*): spaces,
  punctuation, digits, symbols and emoji, marks, controls and format characters (zero-width
  space/joiners U+200B–U+200D, word joiner U+2060, BOM U+FEFF, soft hyphen U+00AD), private use
  and unassigned code points; plus every invisible character (``storage.invisible``, the set
  search drops too), which adds the Hangul fillers U+3164, U+FFA0, U+115F, U+1160: letters to
  Unicode, but they show nothing. Separators are dropped.
- Letters are NFKC-normalised and case-folded when that yields one character (full-width
  ｄｅｅｐ, mathematical 𝐝𝐞𝐞𝐩, circled ⓓ → ascii), Latin diacritics are stripped (é → e),
  and Cyrillic/Greek homoglyphs of Latin letters become the Latin letter (е → e).
- A run of vowel jamo between two whole syllables (지ㅡ인ㅡ능ㅡ욕) is a separator too: a
  vowel cannot start a syllable, so there it spells nothing and is used as a dash or bar.
- Conjoining and half-width jamo become compatibility jamo; then runs of jamo that spell
  syllables (ㅈㅣㅇㅣㄴ) are composed into those syllables. Consonants that spell nothing
  (ㅈㅇㄴㅇ, ㅋㅋ) stay jamo, which is what initial-consonant terms are matched against.
- Letters outside the Basic Multilingual Plane that do not fold into it become ``UNSUPPORTED``;
  terms containing them are rejected at compile time.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import numpy as np

from crawler.matching.keywords import hangul
from storage.invisible import INVISIBLE

SEPARATOR = 0
UNSUPPORTED = 0xFFFE

# Letters that render like a Latin letter in common fonts. Keys are already case-folded.
HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "ь": "b", "е": "e", "ё": "e", "һ": "h", "н": "h", "і": "i", "ї": "i",
    "ј": "j", "к": "k", "ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t",
    "у": "y", "ԝ": "w", "х": "x", "с": "c", "ԁ": "d",
    # Greek
    "α": "a", "β": "b", "ϲ": "c", "ε": "e", "η": "h", "ι": "i", "κ": "k", "μ": "m", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ζ": "z",
}  # fmt: skip


def _fold_letter(ch: str) -> int:
    cp = ord(ch)
    # Hangul folds onto syllables and compatibility jamo, never through NFKC: NFKC turns
    # compatibility jamo into conjoining ones, compound finals into archaic initials (ㅀ → ᄚ).
    if hangul.SYLLABLE_FIRST <= cp <= hangul.SYLLABLE_LAST or 0x3131 <= cp <= 0x318E:
        return cp
    if cp in hangul.CONJOINING_TO_COMPAT:
        return ord(hangul.CONJOINING_TO_COMPAT[cp])
    if 0xFFA1 <= cp <= 0xFFDC:  # half-width jamo: "<narrow> 3131"
        return int(unicodedata.decomposition(ch).split()[1], 16)
    folded = unicodedata.normalize("NFKC", ch).casefold()
    if len(folded) != 1:
        folded = ch.casefold() if len(ch.casefold()) == 1 else ch
    base = unicodedata.normalize("NFKD", folded)
    if base[0].isascii() and base[0].isalpha() and all(unicodedata.combining(c) for c in base[1:]):
        folded = base[0]
    folded = HOMOGLYPHS.get(folded, folded)
    if unicodedata.category(folded)[0] != "L" or ord(folded) in INVISIBLE:
        return SEPARATOR
    return ord(folded) if ord(folded) < UNSUPPORTED else UNSUPPORTED


_LETTER_RUNS = re.compile(r"[^\W\d_]+")
r"""Runs of word characters that are not digits: every letter, and the few numerals (Nl, No)
that Python's ``\w`` also takes, which ``isalpha`` then sets apart."""
_SELF_FOLDING = (
    (0x3131, 0x318E),  # compatibility jamo
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (hangul.SYLLABLE_FIRST, hangul.SYLLABLE_LAST),
)
"""Blocks whose letters all fold to themselves (``_fold_letter`` is the identity there)."""
_ASTRAL_FOLDING = (0x2F800, 0x2FA1F)
"""CJK Compatibility Ideographs Supplement: the one block past U+1FFFF that NFKC folds into the
BMP. Every other letter from U+20000 on is an ideograph that folds to ``UNSUPPORTED``."""


@cache
def fold_table() -> np.ndarray:
    """Code point → unit for all of Unicode (2.2 MB; built once per process, ~40 ms).

    Letters are found by one regex pass over every code point rather than a ``category`` call
    per code point, and the blocks that fold to themselves or to ``UNSUPPORTED`` are filled
    by range: ``_fold_letter`` runs for the ~20,000 letters that remain."""
    everything = np.arange(0x110000, dtype=np.uint32).tobytes()
    text = everything.decode("utf-32-le", "surrogatepass")
    letter = np.zeros(0x110000, dtype=bool)
    for run in _LETTER_RUNS.finditer(text):
        if run.group().isalpha():
            letter[run.start() : run.end()] = True
        else:
            for cp in range(run.start(), run.end()):
                letter[cp] = chr(cp).isalpha()
    letter[np.fromiter(INVISIBLE, dtype=np.intp)] = False
    codepoints = np.flatnonzero(letter)
    table = np.zeros(0x110000, dtype=np.uint16)
    slow = codepoints >= 0
    for first, last in _SELF_FOLDING:
        inside = (codepoints >= first) & (codepoints <= last)
        table[codepoints[inside]] = codepoints[inside]
        slow &= ~inside
    first, last = _ASTRAL_FOLDING
    astral = (codepoints >= 0x20000) & ~((codepoints >= first) & (codepoints <= last))
    table[codepoints[astral]] = UNSUPPORTED
    slow &= ~astral
    for cp in codepoints[slow].tolist():
        table[cp] = _fold_letter(chr(cp))
    return table


@cache
def _bmp_table() -> np.ndarray:
    # 128 KB stays in cache where the full table does not; most messages are BMP-only.
    return fold_table()[:0x10000].copy()


def is_separator(ch: str) -> bool:
    return fold_table().item(ord(ch)) == SEPARATOR


class Skeleton:
    """``units[k]`` is the folded letter that came from ``text[start:end]`` = ``span(k, k + 1)``.

    Character offsets are only worked out when a hit asks for them: most messages have none.
    """

    __slots__ = ("_ends", "_folded", "_starts", "units")

    def __init__(
        self,
        units: np.ndarray,
        folded: np.ndarray | None = None,
        starts: np.ndarray | None = None,
        ends: np.ndarray | None = None,
    ) -> None:
        self.units = units  # uint16
        self._folded = folded  # one unit per character of the text, separators 0
        self._starts = starts
        self._ends = ends  # None while every unit is exactly one character

    @property
    def starts(self) -> np.ndarray:
        if self._starts is None:
            self._starts = np.flatnonzero(self._folded)
        return self._starts

    def span(self, first: int, stop: int) -> tuple[int, int]:
        """Character span of ``units[first:stop]`` in the original text."""
        start = int(self.starts[first])
        if self._ends is None:
            return start, int(self.starts[stop - 1]) + 1
        return start, int(self._ends[stop - 1])


def fold_codepoints(text: str) -> np.ndarray:
    """The unit of every character of ``text`` (``SEPARATOR`` for those that are dropped), one
    array element per ``str`` character."""
    # surrogatepass: lone surrogates (seen in broken UTF-16 from clients) stay one code unit
    # each, so indices keep lining up with the str; the table treats them as separators.
    data = text.encode("utf-16-le", "surrogatepass")
    if len(data) == 2 * len(text):
        return _bmp_table().take(np.frombuffer(data, dtype=np.uint16))
    codepoints = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # The BMP table stays in cache where the full one does not: look up the few characters
    # beyond it (emoji, mostly) apart.
    folded = _bmp_table().take(codepoints & 0xFFFF)
    astral = np.flatnonzero(codepoints > 0xFFFF)
    folded[astral] = fold_table().take(codepoints[astral])
    return folded


def skeleton(text: str) -> Skeleton:
    """Fold ``text`` without composing jamo (see ``compose``)."""
    folded = fold_codepoints(text)
    return Skeleton(folded[folded != SEPARATOR], folded)


def drop_vowel_separators(sk: Skeleton) -> Skeleton:
    """Drop the vowel jamo standing between syllables (지ㅡ인 → 지인); after ``compose``, so
    that a syllable spelled in jamo (ㅈㅣㅡ인) counts as one."""
    units = sk.units
    is_vowel = (units >= hangul.VOWEL_FIRST) & (units <= hangul.VOWEL_LAST)
    kept = ~_vowels_between_syllables(units, is_vowel)
    if kept.all():
        return sk
    ends = sk.starts + 1 if sk._ends is None else sk._ends
    return Skeleton(units[kept], starts=sk.starts[kept], ends=ends[kept])


def _vowels_between_syllables(units: np.ndarray, is_vowel: np.ndarray) -> np.ndarray:
    """Mask of the vowel jamo whose nearest non-vowel units on both sides are syllables."""
    size = units.size
    index = np.arange(size)
    before = np.maximum.accumulate(np.where(is_vowel, -1, index))
    after = np.minimum.accumulate(np.where(is_vowel, size, index)[::-1])[::-1]
    is_syllable = (units >= hangul.SYLLABLE_FIRST) & (units <= hangul.SYLLABLE_LAST)
    syllable_before = (before >= 0) & is_syllable[np.maximum(before, 0)]
    syllable_after = (after < size) & is_syllable[np.minimum(after, size - 1)]
    return is_vowel & syllable_before & syllable_after


def letters(text: str) -> str:
    """The characters of ``text`` that are letters to the skeleton, as written (not folded):
    separators and vowel jamo used as separators left out."""
    # Called for every hit (its form), mostly on a few characters: plain Python until a vowel
    # jamo asks for the numpy pass.
    item = fold_table().item
    pairs = [(ch, unit) for ch in text if (unit := item(ord(ch))) != SEPARATOR]
    kept = [ch for ch, _ in pairs]
    if not any(hangul.VOWEL_FIRST <= unit <= hangul.VOWEL_LAST for _, unit in pairs):
        return "".join(kept)
    units = np.array([unit for _, unit in pairs], dtype=np.uint16)
    is_vowel = (units >= hangul.VOWEL_FIRST) & (units <= hangul.VOWEL_LAST)
    dropped = _vowels_between_syllables(units, is_vowel).tolist()
    return "".join(ch for ch, drop in zip(kept, dropped, strict=True) if not drop)


def compose(sk: Skeleton) -> Skeleton:
    """Compose the runs of jamo in a skeleton that spell syllables (ㅈㅣㅇㅣㄴ → 지인)."""
    units, starts = sk.units, sk.starts
    is_consonant = (units >= hangul.CONSONANT_FIRST) & (units <= hangul.CONSONANT_LAST)
    is_vowel = (units >= hangul.VOWEL_FIRST) & (units <= hangul.VOWEL_LAST)
    candidates = np.flatnonzero(is_consonant[:-1] & is_vowel[1:])
    if candidates.size == 0:
        return sk
    ends = starts + 1
    jamo_mask = is_consonant | is_vowel
    unit_parts, start_parts, end_parts = [], [], []
    done = 0
    for first in candidates.tolist():
        if first < done:
            continue
        # Compose the whole jamo run from ``first``; a run ends at the first non-jamo unit.
        stop = first
        while stop < units.size and jamo_mask[stop]:
            stop += 1
        run = [chr(u) for u in units[first:stop].tolist()]
        unit_parts.append(units[done:first])
        start_parts.append(starts[done:first])
        end_parts.append(ends[done:first])
        run_units, run_starts, run_ends = [], [], []
        i = 0
        while i < len(run):
            composed = hangul.compose_at(run, i)
            j, letter = composed if composed else (i + 1, run[i])
            run_units.append(ord(letter))
            run_starts.append(first + i)
            run_ends.append(first + j - 1)
            i = j
        unit_parts.append(np.array(run_units, dtype=np.uint16))
        start_parts.append(starts[run_starts])
        end_parts.append(ends[run_ends])
        done = stop
    unit_parts.append(units[done:])
    start_parts.append(starts[done:])
    end_parts.append(ends[done:])
    return Skeleton(
        np.concatenate(unit_parts),
        starts=np.concatenate(start_parts),
        ends=np.concatenate(end_parts),
    )


def composable_pairs() -> list[str]:
    """Every initial consonant + vowel pair: the skeleton needs ``compose`` iff one occurs."""
    return [c + v for c in hangul.CHOSEONG for v in hangul.JUNGSEONG]


def fold_term(term: str) -> str:
    """The composed skeleton of a rule term or phrase, as a str of units."""
    return "".join(map(chr, drop_vowel_separators(compose(skeleton(term))).units.tolist()))
