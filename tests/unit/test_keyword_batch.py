"""``KeywordMatcher.scan_many``: a batch gives each text exactly the hits ``scan`` gives it
alone, whatever the terms, disguises and separators around text edges."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.matching.keywords import KeywordMatcher, Rule, Severity, compile_rules, load_rules_yaml

EXAMPLE = Path(__file__).parents[2] / "config" / "rules" / "deepfake-rooms.yaml"


@cache
def _example_rules() -> list[Rule]:
    return load_rules_yaml(EXAMPLE.read_text(encoding="utf-8"))


@cache
def _matcher() -> KeywordMatcher:
    anchored = Rule(
        name="anchored", severity=Severity.HIGH,
        regexes=("^딥페\\s*\\d", "방$", "(?m)^합성\\d+$"), terms=(),
    )  # fmt: skip
    return compile_rules([*_example_rules(), anchored])


def _fragments() -> list[str]:
    terms = [t for rule in _example_rules() for t in (*rule.terms, *rule.allowlist)]
    return [
        *terms,
        # Disguises: spacing, symbols, vowel bars, jamo spelling, initials, look-alikes,
        # romanized and mixed spellings, letter and digit readings, one-jamo slips, regex bait.
        "지 인 능 욕",
        "지.인.능.욕",
        "지ㅡ인ㅡ능ㅡ욕",
        "ㅈㅣㅇㅣㄴ",
        "ㄴㅡㅇㅇㅛㄱ",
        "ㅈㅇㄴㅇ",
        "jiin neungyok",
        "지인neungyok",
        "G인능욕",
        "딥페2크방",
        "지잉능욕",
        "지인느욕",
        "지인능육",
        "딥페 3호방",
        "합성12방",
        "ｄｅｅｐｆａｋｅ",
        "dееpfake",
        "nudify",
        "class",
        # Halves and pieces that meet across text edges.
        "지인",
        "능욕",
        "합성",
        "방",
        "딥페",
        "ㅈ",
        "ㅣ",
        "ㅡ",
        "ㄴ",
        "ㅇ",
        "욕",
        "3",
        "호",
        "사진",
        "링크",
        "채널",
        "가능",
        "😀",
        "\U0001d41d",
    ]


SEPARATORS = ["", " ", "\n", ".", "1", "\u200b", "ㅡ", "\ud800", "-"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(st.tuples(st.sampled_from(_fragments()), st.sampled_from(SEPARATORS)), max_size=6)
    )
    return "".join(fragment + separator for fragment, separator in parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts(), max_size=12))
def test_a_batch_finds_in_each_text_what_scanning_it_alone_finds(batch: list[str]) -> None:
    matcher = _matcher()
    assert matcher.scan_many(batch) == [matcher.scan(text) for text in batch]


def test_texts_without_any_term_have_no_hits_and_every_text_keeps_its_place() -> None:
    matcher = _matcher()
    batch = ["날씨 좋다", "지인능욕방 모집", "", "the weather", "합성 3호방 링크", "가능 욕구"]
    found = matcher.scan_many(batch)
    assert [bool(hits) for hits in found] == [False, True, False, False, True, False]
    assert found[1][0].matched_text == "지인능욕방" and found[4][0].start == 0


def test_an_unanchorable_regex_is_scanned_text_by_text() -> None:
    matcher = compile_rules(
        [Rule(name="start", severity=Severity.LOW, regexes=("\\A딥페",), terms=())]
    )
    batch = ["날씨", "딥페 자료", "", "x 딥페"]
    assert [[h.matched_text for h in hits] for hits in matcher.scan_many(batch)] == [
        [], ["딥페"], [], []
    ]


def test_an_empty_batch_has_no_hits() -> None:
    assert _matcher().scan_many([]) == []
