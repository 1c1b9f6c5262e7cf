"""Keyword matching: the evasion corpus, false-positive controls, rules and the YAML format."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.matching.keywords import (
    Form,
    Hit,
    Rule,
    RuleError,
    Severity,
    compile_rules,
    fold,
    hangul,
    load_rules_yaml,
)
from storage.invisible import INVISIBLE

ROOT = Path(__file__).resolve().parents[2]

RULES = [
    Rule(
        "rooms",
        terms=("지인능욕", "겹지인", "합성방", "갠텔"),
        allowlist=("지인능욕 피해 신고",),
        severity=Severity.CRITICAL,
        language="ko",
    ),
    Rule(
        "deepfake-ko",
        terms=("딥페이크",),
        allowlist=("딥페이크 성범죄 신고",),
        severity="high",
    ),
    Rule("deepfake-en", terms=("deepfake", "undress app"), language="en", severity="medium"),
    Rule("numbered-rooms", regexes=(r"합성\s*\d+\s*호방",), severity="low"),
]


@pytest.fixture(scope="module")
def matcher():
    return compile_rules(RULES)


def only(matcher, text: str) -> Hit:
    hits = matcher.scan(text)
    assert len(hits) == 1, hits
    return hits[0]


# (text, rule, term, form, start, end)
EVASIONS = [
    ("오늘 지인능욕 올림", "rooms", "지인능욕", Form.AS_WRITTEN, 3, 7),
    ("지 인 능 욕", "rooms", "지인능욕", Form.SEPARATED, 0, 7),
    ("지.인.능.욕", "rooms", "지인능욕", Form.SEPARATED, 0, 7),
    ("지/인/능/욕!!", "rooms", "지인능욕", Form.SEPARATED, 0, 7),
    ("지1인능욕", "rooms", "지인능욕", Form.SEPARATED, 0, 5),
    ("방: 지\u200b인\u200c능\u200d욕", "rooms", "지인능욕", Form.SEPARATED, 3, 10),
    ("지\u2060인\ufeff능\u00ad욕", "rooms", "지인능욕", Form.SEPARATED, 0, 7),
    ("지\u3164인\uffa0능\u115f\u1160욕", "rooms", "지인능욕", Form.SEPARATED, 0, 8),
    ("🔥지🔥인능욕🔥", "rooms", "지인능욕", Form.SEPARATED, 1, 6),
    ("ㅈㅇㄴㅇ", "rooms", "지인능욕", Form.INITIALS, 0, 4),
    ("ㅋㅋ ㅈ ㅇ ㄴ ㅇ 구함", "rooms", "지인능욕", Form.INITIALS, 3, 10),
    ("ㄱㅈㅇ방 링크", "rooms", "겹지인", Form.INITIALS, 0, 3),
    ("ㅈㅣㅇㅣㄴㄴㅡㅇㅇㅛㄱ", "rooms", "지인능욕", Form.JAMO, 0, 11),
    ("ㅈ ㅣ ㅇ ㅣ ㄴ 능욕", "rooms", "지인능욕", Form.JAMO, 0, 12),
    ("ㅎㅏㅂㅅㅓㅇㅂㅏㅇ", "rooms", "합성방", Form.JAMO, 0, 9),
    (unicodedata.normalize("NFD", "겹지인"), "rooms", "겹지인", Form.JAMO, 0, 8),
    ("\uffb8\uffdc\uffb7\uffdc\uffa4능욕", "rooms", "지인능욕", Form.JAMO, 0, 7),
    ("갠텔 ㄱㄱ", "rooms", "갠텔", Form.AS_WRITTEN, 0, 2),
    ("DeepFake video", "deepfake-en", "deepfake", Form.AS_WRITTEN, 0, 8),
    ("new ｄｅｅｐｆａｋｅ", "deepfake-en", "deepfake", Form.LOOKALIKE, 4, 12),
    ("dеepfаke", "deepfake-en", "deepfake", Form.LOOKALIKE, 0, 8),  # Cyrillic е and а
    ("𝐝𝐞𝐞𝐩𝐟𝐚𝐤𝐞!", "deepfake-en", "deepfake", Form.LOOKALIKE, 0, 8),
    ("d e e p . f a k e", "deepfake-en", "deepfake", Form.SEPARATED, 0, 17),
    ("an undress   app", "deepfake-en", "undress app", Form.SEPARATED, 3, 16),
    ("합성 3 호방 모집", "numbered-rooms", r"합성\s*\d+\s*호방", Form.AS_WRITTEN, 0, 7),
    ("🔥🔥 합성3호방", "numbered-rooms", r"합성\s*\d+\s*호방", Form.AS_WRITTEN, 3, 8),
]


@pytest.mark.parametrize(("text", "rule", "term", "form", "start", "end"), EVASIONS)
def test_evasion_forms_map_back_to_the_original_span(matcher, text, rule, term, form, start, end):
    hit = only(matcher, text)
    assert (hit.rule, hit.term, hit.form, hit.start, hit.end) == (rule, term, form, start, end)
    assert hit.matched_text == text[start:end]
    assert hit.severity == next(r.severity for r in RULES if r.name == rule)


@pytest.mark.parametrize(
    "text",
    [
        "자연노을 사진 공유",  # same initials as 지인능욕, but written in syllables
        "classdeepfakes and deepfaker",  # Latin terms match whole words only
        "ㄱㅌ ㄱㅌ",  # two-syllable terms (갠텔) have no initial-consonant form
        "ㅋㅋㅋㅋ ㅎㅎ ㅠㅠ",
        "지인 추천 능력 욕심",
    ],
)
def test_ordinary_text_does_not_fire(matcher, text):
    assert matcher.scan(text) == []


def test_spread_out_hit_must_not_start_inside_a_word():
    matcher = compile_rules([Rule("r", terms=("능욕",))])
    assert matcher.scan("가능 욕구가 생긴다") == []  # 능 욕 across two words, inside 가능
    assert [h.form for h in matcher.scan("그건 능 욕 이야")] == [Form.SEPARATED]
    assert [h.form for h in matcher.scan("가능욕")] == [Form.AS_WRITTEN]  # glued, as written


def test_allowlist_phrase_cancels_hits_it_contains(matcher):
    assert matcher.scan("딥페이크 성범죄 신고는 112") == []
    assert matcher.scan("딥페이크성범죄  신고") == []  # spacing variants of the phrase count
    assert matcher.scan("지인능욕 피해 신고 방법") == []


def test_allowlist_cancels_each_occurrence_on_its_own(matcher):
    text = "지인능욕 피해 신고 / 지인능욕 / 지인능욕 피해 신고"
    hits = matcher.scan(text)
    assert [(h.start, h.end) for h in hits] == [(13, 17)]


def test_one_matcher_serves_several_threads(matcher):
    texts = ["지 인 능 욕", "ㅈㅇㄴㅇ", "dеepfаke"] * 50
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(matcher.scan, texts))
    assert results == [matcher.scan(t) for t in texts]


def test_allowlist_does_not_cancel_what_it_does_not_cover(matcher):
    hits = matcher.scan("딥페이크 영상 성범죄 신고")
    assert [(h.rule, h.start, h.end) for h in hits] == [("deepfake-ko", 0, 4)]
    # An allowlist phrase of one rule never cancels another rule's hit.
    rules = [Rule("a", terms=("지인능욕",)), Rule("b", terms=("능욕",), allowlist=("지인능욕",))]
    hits = compile_rules(rules).scan("지인능욕")
    assert [h.rule for h in hits] == ["a"]


def test_hits_inside_a_longer_hit_of_the_same_rule_are_dropped():
    matcher = compile_rules([Rule("r", terms=("지인능욕", "지인능욕방", "능욕방"))])
    hits = matcher.scan("지인능욕방 링크")
    assert [(h.term, h.start, h.end) for h in hits] == [("지인능욕방", 0, 5)]


def test_korean_terms_match_inside_words(matcher):
    hit = only(matcher, "친구들이랑지인능욕방")
    assert (hit.term, hit.start, hit.end, hit.form) == ("지인능욕", 5, 9, Form.AS_WRITTEN)


def test_latin_term_glued_to_hangul_still_matches(matcher):
    assert only(matcher, "deepfake영상").term == "deepfake"


def test_hit_serialises_to_the_cli_json_fields(matcher):
    hit = only(matcher, "지인능욕")
    record = json.loads(json.dumps(dataclasses.asdict(hit), ensure_ascii=False))
    assert record == {
        "rule": "rooms",
        "term": "지인능욕",
        "form": "as_written",
        "start": 0,
        "end": 4,
        "matched_text": "지인능욕",
        "severity": "critical",
    }


def test_lone_surrogates_and_empty_text(matcher):
    assert matcher.scan("") == []
    hits = matcher.scan("\ud800지인능욕 합성3호방\udfff")
    assert [(h.rule, h.start, h.end) for h in hits] == [("rooms", 1, 5), ("numbered-rooms", 6, 11)]


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        (r"(합성)\1", "Back-references"),
        (r"(?<=딥)페이크", "Zero-width"),
        (r"딥페(?!이크)", "Zero-width"),
        (r"x*", "empty"),
        (r"\b딥페이크\b", "unsupported"),
    ],
)
def test_regex_outside_the_dialect_is_rejected_naming_the_rule(regex, reason):
    rules = [Rule("fine", terms=("지인능욕",)), Rule("broken-rule", regexes=(regex,))]
    with pytest.raises(RuleError, match=reason) as raised:
        compile_rules(rules)
    assert raised.value.rule == "broken-rule"
    assert "broken-rule" in str(raised.value)


def test_regex_that_python_cannot_parse_is_rejected_at_construction():
    with pytest.raises(RuleError, match="not valid") as raised:
        Rule("bad", regexes=("(unclosed",))
    assert raised.value.rule == "bad"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Rule("digits", terms=("19금",)), "separators"),
        (Rule("short", terms=("욕",)), "at least two letters"),
        (Rule("phrase", terms=("지인능욕",), allowlist=("!!!",)), "no letters"),
    ],
)
def test_terms_the_engine_cannot_match_are_rejected(rule, message):
    with pytest.raises(RuleError, match=message) as raised:
        compile_rules([rule])
    assert raised.value.rule == rule.name


def test_rule_validation():
    with pytest.raises(RuleError, match="severity"):
        Rule("r", terms=("지인능욕",), severity="urgent")
    with pytest.raises(RuleError, match="at least one term"):
        Rule("r")
    with pytest.raises(RuleError, match="list of strings"):
        Rule("r", terms="지인능욕")
    with pytest.raises(RuleError, match="BCP 47"):
        Rule("r", terms=("지인능욕",), language="Korean")
    with pytest.raises(RuleError, match="share this name"):
        compile_rules([Rule("r", terms=("지인능욕",)), Rule("r", terms=("합성방",))])


def test_example_rule_set_loads_and_matches():
    text = (ROOT / "config/rules/deepfake-rooms.yaml").read_text(encoding="utf-8")
    rules = load_rules_yaml(text)
    assert {r.name for r in rules} >= {"acquaintance-humiliation-rooms", "synthesis-rooms"}
    for term in ("지인능욕", "겹지인", "능욕방", "합성방", "딥페이크방", "불법합성물", "갠텔"):
        assert any(term in r.terms for r in rules), term
    matcher = compile_rules(rules)
    assert {h.form for h in matcher.scan("ㅈㅇㄴㅇ 방 / 딥 페 이 크 방")} == {
        Form.INITIALS,
        Form.SEPARATED,
    }
    assert matcher.scan("딥페이크 성범죄 신고 안내") == []


def test_yaml_reads_every_scalar_as_a_string():
    rules = load_rules_yaml("rules:\n  - name: r\n    terms: [no, 지인능욕]\n    severity: high\n")
    assert rules == [Rule("r", terms=("no", "지인능욕"), severity=Severity.HIGH)]


@pytest.mark.parametrize(
    ("text", "rule", "line", "message"),
    [
        ("rules:\n  - name: a\n    terms: [지인능욕]\n    colour: red\n", "a", 4, "unknown key"),
        ("rules:\n  - name: a\n    terms: 지인능욕\n", "a", 3, "must be a list"),
        ("rules:\n  - name: a\n    terms: [x y]\n  - terms: [합성방]\n", None, 4, "needs a 'name'"),
        ("rules:\n  - name: a\n    terms: [지인능욕]\n    severity: urgent\n", "a", 2, "severity"),
        ("rules:\n  - name: a\n    terms: [ab]\n  - name: a\n    terms: [cd]\n", "a", 4, "already"),
        ("rules:\n  - name: a\n    terms: [[지인]]\n", "a", 3, "single value"),
        ("rules:\n  - name: a\n    regexes: ['(a)\\1']\n", "a", 2, "Back-references"),
        ("rules:\n  - name: a\n    terms: [19금]\n", "a", 2, "separators"),
        ("rules: [\n", None, 2, "not valid YAML"),
        ("rule:\n  - name: a\n", None, 1, "unknown top-level key"),
        ("- name: a\n", None, 1, "mapping"),
    ],
)
def test_yaml_errors_name_the_rule_and_line(text, rule, line, message):
    with pytest.raises(RuleError, match=message) as raised:
        load_rules_yaml(text)
    assert (raised.value.rule, raised.value.line) == (rule, line)


def test_empty_yaml_has_no_rules():
    assert load_rules_yaml("") == []


ALPHABET = st.sampled_from(
    [
        *"지인능욕겹합성방갠텔가나다 ㅈㅇㄴㅣㅡㅛㄱㅋㅠ.1-deepfakDEЕеа",
        *("\u200b", "\u3164", "\u115f", "\u00ad", "🔥", "\ufeff", "𝐝", "ｄ", "\ud800", "\u1175"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_every_hit_span_is_the_matched_text(text):
    matcher = _property_matcher()
    for hit in matcher.scan(text):
        assert 0 <= hit.start < hit.end <= len(text)
        assert text[hit.start : hit.end] == hit.matched_text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([" ", ".", "1", "\u200b", "\u3164", "🔥", "\u00ad"]), max_size=3),
        min_size=3,
        max_size=3,
    ),
    st.text(alphabet="가나 다.", max_size=5),
)
def test_separators_between_letters_never_hide_a_term(separators, prefix):
    text = prefix + "".join(c + "".join(s) for c, s in zip("지인능", separators, strict=True))
    text += "욕"
    hits = [h for h in _property_matcher().scan(text) if h.term == "지인능욕"]
    if prefix and prefix[-1] not in " ." and any(separators):
        return  # starts inside a word and is spread out: rejected by design
    assert [(h.start, h.end) for h in hits] == [(len(prefix), len(text))]


_PROPERTY_MATCHER = []


def _property_matcher():
    if not _PROPERTY_MATCHER:
        _PROPERTY_MATCHER.append(compile_rules(RULES))
    return _PROPERTY_MATCHER[0]


syllables = st.integers(0xAC00, 0xD7A3).map(chr)
# Compound vowels and finals as typed one key at a time.
_SPLIT = dict(
    zip(
        "ㅘㅙㅚㅝㅞㅟㅢㄳㄵㄶㄺㄻㄼㄽㄾㄿㅀㅄ",
        (
            *("ㅗㅏ", "ㅗㅐ", "ㅗㅣ", "ㅜㅓ", "ㅜㅔ", "ㅜㅣ", "ㅡㅣ", "ㄱㅅ", "ㄴㅈ"),
            *("ㄴㅎ", "ㄹㄱ", "ㄹㅁ", "ㄹㅂ", "ㄹㅅ", "ㄹㅌ", "ㄹㅍ", "ㄹㅎ", "ㅂㅅ"),
        ),
        strict=True,
    )
)


@settings(max_examples=150, deadline=None)
@given(st.lists(syllables, min_size=2, max_size=5).map("".join), st.booleans(), st.booleans())
def test_any_term_spelled_out_in_jamo_is_found(term, split_compounds, spaced):
    jamo = [j for ch in term for j in hangul.decompose(ch) if j]
    if split_compounds:
        jamo = [part for j in jamo for part in _SPLIT.get(j, j)]
    spelled = (" " if spaced else "").join(jamo)
    text = "글: " + spelled + " 끝"
    hit = only(compile_rules([Rule("r", terms=(term,))]), text)
    assert (hit.form, hit.start, hit.end) == (Form.JAMO, 3, 3 + len(spelled))


@settings(max_examples=100, deadline=None)
@given(st.lists(syllables, min_size=3, max_size=5).map("".join))
def test_initials_of_any_long_term_are_found_only_as_initials(term):
    matcher = compile_rules([Rule("r", terms=(term,))])
    hit = only(matcher, "글: " + hangul.initials(term))
    assert (hit.form, hit.start, hit.end) == (Form.INITIALS, 3, 3 + len(term))
    same_initials = "".join(hangul.compose(i, "ㅏ") for i in hangul.initials(term))
    assert Form.INITIALS not in {h.form for h in matcher.scan(same_initials)}


def test_the_fold_table_is_what_folding_every_code_point_one_by_one_gives() -> None:
    """The table is built by blocks and one regex pass; this is its definition, code point by
    code point: letters (category L*) that are not invisible fold, everything else separates."""
    table = fold.fold_table()
    for cp in range(0x110000):
        ch = chr(cp)
        letter = unicodedata.category(ch)[0] == "L" and cp not in INVISIBLE
        assert table[cp] == (fold._fold_letter(ch) if letter else fold.SEPARATOR), hex(cp)
