"""``KeywordMatcher.candidates``: the batch prefilter of the rescan never drops a text that
``scan`` finds a hit in, whatever the terms, disguises and separators around text edges."""

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
def test_candidates_hold_every_text_with_a_hit(batch: list[str]) -> None:
    matcher = _matcher()
    hits = {n for n, text in enumerate(batch) if matcher.scan(text)}
    candidates = matcher.candidates(batch)
    assert hits <= set(candidates)
    assert candidates == sorted(set(candidates))
    assert all(0 <= n < len(batch) for n in candidates)


def test_a_text_without_any_term_is_left_out() -> None:
    matcher = _matcher()
    batch = ["날씨 좋다", "지인능욕방 모집", "", "the weather", "합성 3호방 링크", "가능 욕구"]
    assert matcher.candidates(batch) == [1, 4]


def test_an_unanchorable_regex_makes_every_text_a_candidate() -> None:
    matcher = compile_rules(
        [Rule(name="start", severity=Severity.LOW, regexes=("\\A딥페",), terms=())]
    )
    batch = ["날씨", "딥페 자료", "", "x"]
    assert {n for n, text in enumerate(batch) if matcher.scan(text)} == {1}
    assert matcher.candidates(batch) == [0, 1, 3]
