"""Hangul syllable ↔ compatibility-jamo helpers (pure; Unicode §3.12 arithmetic).

Jamo are always handled as *compatibility* jamo (U+3131–U+3163), the letters people type when
they spell a word out (ㅈㅣㅇㅣㄴ) or write initial consonants (ㅈㅇㄴㅇ). Conjoining and
half-width jamo are folded to these before composition (see ``fold``).
"""

from __future__ import annotations

from collections.abc import Sequence

SYLLABLE_FIRST = 0xAC00
SYLLABLE_LAST = 0xD7A3
CONSONANT_FIRST = 0x3131  # ㄱ
CONSONANT_LAST = 0x314E  # ㅎ
VOWEL_FIRST = 0x314F  # ㅏ
VOWEL_LAST = 0x3163  # ㅣ

CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNGSEONG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONGSEONG = (
    "", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ",
    "ㄿ", "ㅀ", "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ",
)  # fmt: skip

_L_INDEX = {c: i for i, c in enumerate(CHOSEONG)}
_V_INDEX = {c: i for i, c in enumerate(JUNGSEONG)}
_T_INDEX = {c: i for i, c in enumerate(JONGSEONG) if c}

# People typing jamo one key at a time produce the parts of compound vowels and finals.
_VOWEL_PAIRS = {
    ("ㅗ", "ㅏ"): "ㅘ", ("ㅗ", "ㅐ"): "ㅙ", ("ㅗ", "ㅣ"): "ㅚ", ("ㅜ", "ㅓ"): "ㅝ",
    ("ㅜ", "ㅔ"): "ㅞ", ("ㅜ", "ㅣ"): "ㅟ", ("ㅡ", "ㅣ"): "ㅢ",
}  # fmt: skip
_FINAL_PAIRS = {
    ("ㄱ", "ㅅ"): "ㄳ", ("ㄴ", "ㅈ"): "ㄵ", ("ㄴ", "ㅎ"): "ㄶ", ("ㄹ", "ㄱ"): "ㄺ",
    ("ㄹ", "ㅁ"): "ㄻ", ("ㄹ", "ㅂ"): "ㄼ", ("ㄹ", "ㅅ"): "ㄽ", ("ㄹ", "ㅌ"): "ㄾ",
    ("ㄹ", "ㅍ"): "ㄿ", ("ㄹ", "ㅎ"): "ㅀ", ("ㅂ", "ㅅ"): "ㅄ",
}  # fmt: skip
# Compound vowels and finals → the two keys that type them (ㅘ → ㅗㅏ).
SPLIT_COMPOUNDS = {v: a + b for (a, b), v in {**_VOWEL_PAIRS, **_FINAL_PAIRS}.items()}

# Conjoining jamo (as in NFD text) in Unicode order, mapped onto compatibility jamo.
CONJOINING_TO_COMPAT = {
    **{0x1100 + i: c for i, c in enumerate(CHOSEONG)},
    **{0x1161 + i: c for i, c in enumerate(JUNGSEONG)},
    **{0x11A8 + i: c for i, c in enumerate(JONGSEONG[1:])},
}


def is_syllable(ch: str) -> bool:
    return SYLLABLE_FIRST <= ord(ch) <= SYLLABLE_LAST


def is_jamo(ch: str) -> bool:
    """Compatibility, conjoining or half-width jamo letters (fillers are not letters here)."""
    cp = ord(ch)
    return (
        CONSONANT_FIRST <= cp <= VOWEL_LAST
        or (0x1100 <= cp <= 0x11FF and cp not in (0x115F, 0x1160))
        or 0xFFA1 <= cp <= 0xFFDC
    )


def decompose(ch: str) -> tuple[str, str, str]:
    """(initial, vowel, final) compatibility jamo of a syllable; final is '' when absent."""
    index = ord(ch) - SYLLABLE_FIRST
    return CHOSEONG[index // 588], JUNGSEONG[index % 588 // 28], JONGSEONG[index % 28]


def initials(word: str) -> str:
    """ㅈㅇㄴㅇ for 지인능욕; characters that are not syllables are dropped."""
    return "".join(decompose(ch)[0] for ch in word if is_syllable(ch))


def compose(initial: str, vowel: str, final: str = "") -> str:
    index = (_L_INDEX[initial] * 21 + _V_INDEX[vowel]) * 28 + (_T_INDEX[final] if final else 0)
    return chr(SYLLABLE_FIRST + index)


def compose_at(jamo: Sequence[str], i: int) -> tuple[int, str] | None:
    """Compose the syllable that starts at ``jamo[i]``: (index after it, syllable), or None.

    Greedy like a Korean IME: a consonant after the vowel is a final only when no vowel follows
    it (otherwise it starts the next syllable), and split compound vowels/finals are merged.
    """
    n = len(jamo)
    if i + 1 >= n or jamo[i] not in _L_INDEX or jamo[i + 1] not in _V_INDEX:
        return None
    vowel, j = jamo[i + 1], i + 2
    if j < n and (vowel, jamo[j]) in _VOWEL_PAIRS:
        vowel, j = _VOWEL_PAIRS[vowel, jamo[j]], j + 1
    final = ""
    if j < n and jamo[j] in _T_INDEX and not _vowel_at(jamo, j + 1):
        final, j = jamo[j], j + 1
        if j < n and (final, jamo[j]) in _FINAL_PAIRS and not _vowel_at(jamo, j + 1):
            final, j = _FINAL_PAIRS[final, jamo[j]], j + 1
    return j, compose(jamo[i], vowel, final)


def _vowel_at(jamo: Sequence[str], i: int) -> bool:
    return i < len(jamo) and jamo[i] in _V_INDEX
