"""One set of invisible characters: Unicode's default-ignorables, dropped by the keyword matchers
and by search alike, and nothing that shows."""

from __future__ import annotations

import unicodedata

from crawler.matching.keywords import fold
from storage.invisible import INVISIBLE, without_invisible

NAMED = {
    0x200B: "zero-width space",
    0x200C: "zero-width non-joiner",
    0x200D: "zero-width joiner",
    0x2060: "word joiner",
    0xFEFF: "BOM",
    0x00AD: "soft hyphen",
    0x3164: "Hangul filler",
    0x115F: "Hangul choseong filler",
    0x1160: "Hangul jungseong filler",
    0xFFA0: "half-width Hangul filler",
}
# Format characters Unicode does not call default-ignorable: they show (prepended number signs)
# or structure what shows (interlinear annotation, Egyptian hieroglyph format controls).
SHOWN_FORMAT_CHARACTERS = {
    *range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2,
    0xFFF9, 0xFFFA, 0xFFFB, 0x110BD, 0x110CD, *range(0x13430, 0x13440),
}  # fmt: skip
EVERY_CHARACTER = "".join(map(chr, range(0x110000)))


def test_the_characters_rooms_pad_words_with_are_invisible() -> None:
    assert set(NAMED) <= INVISIBLE


def test_every_format_character_that_shows_nothing_is_invisible() -> None:
    # Catches a Unicode update that adds format characters the set does not know yet.
    format_characters = {
        ord(ch) for ch in EVERY_CHARACTER if unicodedata.category(ch) == "Cf"
    } - SHOWN_FORMAT_CHARACTERS
    assert format_characters <= INVISIBLE
    assert not SHOWN_FORMAT_CHARACTERS & INVISIBLE


def test_the_only_invisible_letters_are_the_hangul_fillers() -> None:
    letters = {cp for cp in INVISIBLE if unicodedata.category(chr(cp)).startswith("L")}
    assert letters == {0x3164, 0x115F, 0x1160, 0xFFA0}


def test_the_keyword_matchers_drop_every_invisible_character() -> None:
    assert all(fold.is_separator(chr(cp)) for cp in INVISIBLE)
    assert fold.fold_term("겹\u3164지\u200b인\ufeff방") == fold.fold_term("겹지인방")


def test_search_removes_exactly_the_invisible_characters() -> None:
    removed = set(EVERY_CHARACTER) - set(without_invisible(EVERY_CHARACTER))
    assert {ord(ch) for ch in removed} == INVISIBLE
    # One at a time too: the quick "none here" check must not miss any of them.
    assert all(without_invisible(f"겹{chr(cp)}지인") == "겹지인" for cp in INVISIBLE)


def test_search_keeps_spaces_punctuation_and_plain_text() -> None:
    assert without_invisible("겹\u200b지인방 새 링크!") == "겹지인방 새 링크!"
    plain = "겹 지인, deep-fake 🔥"
    assert without_invisible(plain) is plain


def test_case_folding_neither_makes_nor_removes_invisible_characters() -> None:
    # Search may fold case and drop invisible characters in either order.
    assert (
        without_invisible(EVERY_CHARACTER.casefold())
        == without_invisible(EVERY_CHARACTER).casefold()
    )
