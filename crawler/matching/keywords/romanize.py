"""Latin spellings of Hangul terms: romanizations and mixed Hangul/Latin forms.

Generated at compile time from each term's syllables, then folded and matched as literals on
the skeleton like every other form (separators are dropped there, so ``ji-in neung.yok`` and
``jiinneungyok`` are one key).

A spelling is one *system* applied to the whole term, not a free choice per syllable: the
product of per-syllable choices is 3-9 spellings per syllable, tens of thousands per long term,
while people who romanize a word use one habit throughout. The systems are every pairing of

- consonants: Revised Romanization with finals as pronounced (지인능욕 → jiinneungyok), the
  same with finals letter by letter as chat does (욕 → yog, 합 → hab), and McCune–Reischauer
  without diacritics or apostrophes (chiinnungyok: ㄱㄷㅂㅈ voiced to g d b j after a voiced
  sound, k t p ch elsewhere);
- vowels: Revised (ㅓ eo, ㅕ yeo, ㅡ eu), McCune–Reischauer's ŏ/ŭ without their breves
  (o, yo, u), and the spelling of names such as Sung and Kyung (ㅓ u, ㅕ yu, ㅡ eu).

so a term has at most nine spellings, usually two to four once identical ones merge.
"""

from __future__ import annotations

from itertools import product

from crawler.matching.keywords import hangul

# Indexed like hangul.CHOSEONG: ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ
_INITIAL_RR = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch",
               "k", "t", "p", "h")  # fmt: skip
_INITIAL_MR = ("k", "kk", "n", "t", "tt", "r", "m", "p", "pp", "s", "ss", "", "ch", "tch", "ch",
               "k", "t", "p", "h")  # fmt: skip
_MR_VOICED = {"ㄱ": "g", "ㄷ": "d", "ㅂ": "b", "ㅈ": "j"}
_VOICED_FINALS = {"", "ㄴ", "ㄹ", "ㅁ", "ㅇ"}
# Indexed like hangul.JUNGSEONG: ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ
_VOWEL_RR = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
             "wo", "we", "wi", "yu", "eu", "ui", "i")  # fmt: skip
_VOWEL_MR = {"ㅓ": "o", "ㅕ": "yo", "ㅡ": "u", "ㅢ": "ui"}
_VOWEL_NAMES = {"ㅓ": "u", "ㅕ": "yu"}
# Indexed like hangul.JONGSEONG: "" ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ
_FINAL_SPOKEN = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "p", "l", "l", "p", "l",
                 "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t")  # fmt: skip
_FINAL_LETTERS = ("", "g", "kk", "gs", "n", "nj", "nh", "d", "l", "lg", "lm", "lb", "ls",
                  "lt", "lp", "lh", "m", "b", "bs", "s", "ss", "ng", "j", "ch", "k", "t", "p",
                  "h")  # fmt: skip

_CONSONANT_SYSTEMS = ("rr", "rr_letters", "mr")
_VOWEL_SYSTEMS = ("rr", "mr", "names")

ROMANIZED_MIN_LETTERS = 6
"""Shorter all-Latin spellings are too often English words or names (가게 gage, 미스 misu, 보스
bosu); whole-word matching does not help when the spelling *is* a word."""

MIXED_MIN_LETTERS = 2


def syllable_spellings(term: str) -> list[tuple[str, ...]]:
    """One tuple per system: the Latin spelling of each syllable of ``term`` (all Hangul)."""
    spellings: dict[tuple[str, ...], None] = {}
    for consonants, vowels in product(_CONSONANT_SYSTEMS, _VOWEL_SYSTEMS):
        spellings[_spell(term, consonants, vowels)] = None
    return list(spellings)


def _spell(term: str, consonants: str, vowels: str) -> tuple[str, ...]:
    parts = []
    previous_final: str | None = None  # None at the start of the word: MR does not voice there
    for ch in term:
        initial, vowel, final = hangul.decompose(ch)
        index = hangul.CHOSEONG.index(initial)
        if initial == "ㄹ" and previous_final == "ㄹ":
            head = "l"  # ㄹㄹ is ll in both systems: 텔레 telle, not telre
        elif consonants != "mr":
            head = _INITIAL_RR[index]
        elif previous_final in _VOICED_FINALS and initial in _MR_VOICED:
            head = _MR_VOICED[initial]
        else:
            head = _INITIAL_MR[index]
        body = _VOWEL_RR[hangul.JUNGSEONG.index(vowel)]
        if vowels == "mr":
            body = _VOWEL_MR.get(vowel, body)
        elif vowels == "names":
            body = _VOWEL_NAMES.get(vowel, body)
        tail_index = hangul.JONGSEONG.index(final)
        tail = (_FINAL_LETTERS if consonants == "rr_letters" else _FINAL_SPOKEN)[tail_index]
        parts.append(head + body + tail)
        previous_final = final
    return tuple(parts)


def romanizations(term: str) -> list[str]:
    """All-Latin spellings of a Hangul term of two or more syllables, long enough to be safe."""
    if len(term) < 2 or not all(hangul.is_syllable(ch) for ch in term):
        return []
    spelled = dict.fromkeys("".join(parts) for parts in syllable_spellings(term))
    return [s for s in spelled if len(s) >= ROMANIZED_MIN_LETTERS]


def mixed_spellings(term: str) -> list[str]:
    """The first syllables in Hangul, the rest romanized (지인능yok, 지인neungyok).

    One switch of script, Hangul first: the form as reported (a word begun in the Korean layout
    and finished in the Latin one). Latin then Hangul (jiin능욕) would double these literals,
    the largest group already (compile time grows with them), and switching back and forth
    is not generated at all (2ⁿ mixes per system). The Latin part has at least
    ``MIXED_MIN_LETTERS``: a lone a, i or o after Hangul is an enumeration or a typo.
    """
    if len(term) < 2 or not all(hangul.is_syllable(ch) for ch in term):
        return []
    mixed: dict[str, None] = {}
    for parts in syllable_spellings(term):
        for cut in range(1, len(term)):
            latin = "".join(parts[cut:])
            if len(latin) >= MIXED_MIN_LETTERS:
                mixed[term[:cut] + latin] = None
    return list(mixed)
