"""Keyword evasions generated from a term's syllables: romanized, mixed-script, letters and
digits read as syllables, vowel jamo as separators, opt-in one-jamo slips; and the text that
must stay silent when they are all on."""

from __future__ import annotations

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
    hangul,
    load_rules_yaml,
)
from crawler.matching.keywords.romanize import (
    ROMANIZED_MIN_LETTERS,
    romanizations,
    syllable_spellings,
)

ROOT = Path(__file__).resolve().parents[2]

RULES = [
    Rule(
        "rooms",
        terms=("지인능욕", "겹지인", "합성방", "갠텔", "지인능욕방"),
        allowlist=("지인능욕 피해 신고",),
        severity=Severity.CRITICAL,
        slip=True,
    ),
    Rule("synthesis", terms=("딥페이크방", "불법합성물"), severity=Severity.HIGH),
    Rule("low-slip", terms=("텔레그램방",), severity=Severity.LOW, slip=True),
]


@pytest.fixture(scope="module")
def matcher():
    return compile_rules(RULES)


def only(matcher, text: str) -> Hit:
    hits = matcher.scan(text)
    assert len(hits) == 1, hits
    return hits[0]


# (text, term, form, start, end)
EVASIONS = [
    ("지ㅡ인ㅡ능ㅡ욕", "지인능욕", Form.SEPARATED, 0, 7),
    ("방 지ㅣ인ㅣ능ㅣ욕 ㄱㄱ", "지인능욕", Form.SEPARATED, 2, 9),
    ("지ㅡㅡ인 능ㅠ욕", "지인능욕", Form.SEPARATED, 0, 8),
    ("jiin neungyok", "지인능욕", Form.ROMANIZED, 0, 13),
    ("링크: jiinneungyok", "지인능욕", Form.ROMANIZED, 4, 16),
    ("ji-in neung-yok!", "지인능욕", Form.ROMANIZED, 0, 15),
    ("JIIN.NEUNG.YOK", "지인능욕", Form.ROMANIZED, 0, 14),
    ("jiin nungyok", "지인능욕", Form.ROMANIZED, 0, 12),  # ㅡ as u
    ("jiinneungyog", "지인능욕", Form.ROMANIZED, 0, 12),  # final letter by letter
    ("Chiin Nŭngyok", "지인능욕", Form.ROMANIZED, 0, 13),  # McCune–Reischauer
    ("gyeop jiin bang", "겹지인", Form.ROMANIZED, 0, 10),  # bang is not part of 겹지인
    ("kyŏpchiin", "겹지인", Form.ROMANIZED, 0, 9),
    ("hapsung bang", "합성방", Form.ROMANIZED, 0, 12),  # ㅓ as u, as in Sung
    ("gaentel ㄱㄱ", "갠텔", Form.ROMANIZED, 0, 7),
    ("tellegeuraem bang", "텔레그램방", Form.ROMANIZED, 0, 17),  # ㄹㄹ is ll
    ("ｊｉｉｎ ｎｅｕｎｇｙｏｋ", "지인능욕", Form.ROMANIZED, 0, 13),
    ("G인능욕", "지인능욕", Form.LATIN_PHONETIC, 0, 4),
    ("방: g 인 능 욕", "지인능욕", Form.LATIN_PHONETIC, 3, 10),
    ("겹G인", "겹지인", Form.LATIN_PHONETIC, 0, 3),
    ("딥페E크방", "딥페이크방", Form.LATIN_PHONETIC, 0, 5),
    ("딥페2크방", "딥페이크방", Form.LATIN_PHONETIC, 0, 5),
    ("딥페 ２ 크방", "딥페이크방", Form.LATIN_PHONETIC, 0, 7),
    ("지인능yok", "지인능욕", Form.MIXED_SCRIPT, 0, 6),
    ("지인 neung-yok", "지인능욕", Form.MIXED_SCRIPT, 0, 12),
    ("겹지in", "겹지인", Form.MIXED_SCRIPT, 0, 4),
    ("합성bang", "합성방", Form.MIXED_SCRIPT, 0, 6),
    ("지잉능욕", "지인능욕", Form.JAMO_SLIP, 0, 4),  # a final added
    ("지인느욕", "지인능욕", Form.JAMO_SLIP, 0, 4),  # a final dropped
    ("오늘 지인능육 모집", "지인능욕", Form.JAMO_SLIP, 3, 7),  # a vowel replaced
    ("지 인 능 육", "지인능욕", Form.JAMO_SLIP, 0, 7),
    ("지잉능욕방", "지인능욕방", Form.JAMO_SLIP, 0, 5),
]


@pytest.mark.parametrize(("text", "term", "form", "start", "end"), EVASIONS)
def test_new_forms_name_their_form_and_point_at_the_disguise(matcher, text, term, form, start, end):
    hit = only(matcher, text)
    assert (hit.term, hit.form, hit.start, hit.end) == (term, form, start, end)
    assert hit.matched_text == text[start:end]


def test_form_names_are_the_json_values():
    assert [f.value for f in (Form.ROMANIZED, Form.LATIN_PHONETIC, Form.MIXED_SCRIPT)] == [
        "romanized",
        "latin_phonetic",
        "mixed_script",
    ]
    assert Form.JAMO_SLIP.value == "jamo_slip"


def test_slips_are_one_severity_lower_and_low_stays_low(matcher):
    assert only(matcher, "지인능욕").severity == Severity.CRITICAL
    assert only(matcher, "지잉능욕").severity == Severity.HIGH
    assert only(matcher, "jiinneungyok").severity == Severity.CRITICAL  # only slips are lowered
    hit = only(matcher, "텔레그램빙")
    assert (hit.form, hit.severity) == (Form.JAMO_SLIP, Severity.LOW)


@pytest.mark.parametrize(
    "text",
    ["테레그램방", "텔렉그램방", "텔레극램방", "텔레그래방", "텔레그램바", "텔 레 극 램 방"],
)
def test_a_slip_in_any_syllable_is_found_over_the_whole_term(matcher, text):
    # One pattern per syllable: a slip in the first or last one must be found as well as in
    # the middle, also when the term is spread out.
    hit = only(matcher, text)
    assert (hit.rule, hit.term, hit.form) == ("low-slip", "텔레그램방", Form.JAMO_SLIP)
    assert (hit.start, hit.end) == (0, len(text))


@pytest.mark.parametrize(
    "text",
    [
        "불법합성울",  # the rule without slip: true
        "합성밤",  # three syllables: no slips
        "지잉능육",  # two syllables slipped
        "지인능력",  # 욕 → 력 is two keystrokes
        "지인능욕욕",  # (the exact term fires instead, see below)
    ],
)
def test_slips_stay_within_their_limits(matcher, text):
    assert Form.JAMO_SLIP not in {h.form for h in matcher.scan(text)}


def test_slip_is_off_by_default():
    assert Rule("r", terms=("지인능욕",)).slip is False
    assert compile_rules([Rule("r", terms=("지인능욕",))]).scan("지잉능욕") == []


def test_an_exact_hit_is_not_swallowed_by_an_overlapping_slip(matcher):
    # 지인능욕 반 is one jamo from 지인능욕방; the exact, critical 지인능욕 is what is reported.
    hit = only(matcher, "지인능욕 반대 집회")
    assert (hit.term, hit.form, hit.severity) == ("지인능욕", Form.AS_WRITTEN, Severity.CRITICAL)


@pytest.mark.parametrize(
    "text",
    [
        "jiinneungyokx",  # Latin ends are whole words
        "xjiinneungyok",
        "지인능yokx",
        "딥페22크방",  # 22 reads 이이
        "딥페크방",  # no digit where 이 was
        "xg인능욕",  # a letter reading is a word start
    ],
)
def test_generated_spellings_respect_word_edges_and_readings(matcher, text):
    assert matcher.scan(text) == []


def test_digits_at_the_ends_of_a_term_are_not_read():
    # 2 reads 이, but a leading or trailing number is a count or a room number.
    matcher = compile_rules([Rule("r", terms=("이겹지인", "겹지인이"))])
    assert matcher.scan("2겹지인") == []
    assert matcher.scan("겹지인2") == []


def test_a_lone_latin_vowel_after_hangul_is_not_a_mixed_spelling():
    matcher = compile_rules([Rule("r", terms=("합성사이",))])
    assert matcher.scan("합성사 i") == []
    assert [h.form for h in matcher.scan("합성sai")] == [Form.MIXED_SCRIPT]


def test_short_romanizations_are_not_generated():
    # 가게 → gage, 미스 → misu: English words or names, so spellings under six letters are left out.
    matcher = compile_rules([Rule("r", terms=("가게", "미스"))])
    assert matcher.scan("the gage reads misu") == []
    assert all(len(s) >= ROMANIZED_MIN_LETTERS for s in romanizations("지능"))


# Ordinary Korean news and chat, English text, and awareness phrases: with every form on
# (slips included) none of it may fire.
SILENT = [
    "경찰청은 텔레그램 기반 딥페이크 성범죄에 대해 집중 단속을 벌인다고 밝혔다.",
    "지인 추천으로 입사한 직원이 능력을 인정받아 욕심 없이 일했다.",
    "지인능욕 피해 신고는 경찰청 사이버수사국으로 하면 된다.",
    "지ㅡ인ㅡ능ㅡ욕 피해 신고",  # the allowlist is folded like terms, vowel separators too
    "가능 욕구가 생긴다 ㅡㅡ 진짜 ㅠㅠ 인간적으로",
    "AI 기술로 합성한 영상의 유통을 막기 위해 방송통신위원회가 나섰다.",
    "G20 정상회의에서 디지털 성범죄 공동 대응 방안이 논의됐다.",
    "B2B 플랫폼, CEO 인터뷰, OTT 서비스, K-pop 팬미팅, 5G 요금제",
    "The gang in the jungle sang a song about being bang on time; chin up, Jin.",
    "hapkido, taekwondo, Seoul, Busan, kimchi, bulgogi, Samsung, Hyundai",
    "Report deepfake abuse to the police; the new law bans possession of such material.",
    "오늘 지인들이랑 능이버섯 먹음 ㅋㅋ 욕 나올 만큼 맛있음",
    "지인이 2인분 주문함",
    "딥페이크 반대 집회가 열렸다",
]


@pytest.mark.parametrize("text", SILENT)
def test_false_positive_controls_stay_silent(matcher, text):
    assert matcher.scan(text) == []


def test_example_rule_set_catches_the_new_forms_and_stays_silent_on_news():
    rules = load_rules_yaml((ROOT / "config/rules/deepfake-rooms.yaml").read_text("utf-8"))
    matcher = compile_rules(rules)
    text = "jiin neungyok / G인능욕 / 지인능yok / 지ㅡ인ㅡ능ㅡ욕 / 지잉능욕"
    assert [h.form for h in matcher.scan(text)] == [
        Form.ROMANIZED,
        Form.LATIN_PHONETIC,
        Form.MIXED_SCRIPT,
        Form.SEPARATED,
        Form.JAMO_SLIP,
    ]
    for sentence in SILENT:
        assert matcher.scan(sentence) == [], sentence


def test_yaml_slip_option():
    text = "rules:\n  - name: a\n    terms: [지인능욕]\n    slip: true\n"
    rules = load_rules_yaml(text + "  - name: b\n    terms: [합성방]\n")
    assert [(r.name, r.slip) for r in rules] == [("a", True), ("b", False)]
    with pytest.raises(RuleError, match="true or false") as raised:
        load_rules_yaml("rules:\n  - name: a\n    terms: [지인능욕]\n    slip: yes\n")
    assert (raised.value.rule, raised.value.line) == ("a", 4)
    with pytest.raises(RuleError, match="true or false"):
        Rule("r", terms=("지인능욕",), slip="true")


syllables = st.integers(0xAC00, 0xD7A3).map(chr)


@settings(max_examples=100, deadline=None)
@given(st.lists(syllables, min_size=2, max_size=5).map("".join), st.sampled_from(["", " ", "-"]))
def test_every_generated_romanization_is_found_with_its_span(term, joiner):
    matcher = compile_rules([Rule("r", terms=(term,))])
    for parts in syllable_spellings(term):
        if "".join(parts) not in romanizations(term):
            continue  # too short to be generated
        spelled = joiner.join(parts)
        hit = only(matcher, "글: " + spelled + " 끝")
        assert (hit.form, hit.start, hit.end) == (Form.ROMANIZED, 3, 3 + len(spelled))


@settings(max_examples=100, deadline=None)
@given(st.lists(syllables, min_size=4, max_size=5).map("".join), st.data())
def test_any_one_final_slip_of_a_long_term_is_found(term, data):
    i = data.draw(st.integers(0, len(term) - 1))
    initial, vowel, final = hangul.decompose(term[i])
    slipped = hangul.compose(initial, vowel, "" if final else "ㄴ")
    if final and final in hangul.SPLIT_COMPOUNDS:
        slipped = hangul.compose(initial, vowel, hangul.SPLIT_COMPOUNDS[final][0])
    text = "글 " + term[:i] + slipped + term[i + 1 :]
    hit = only(compile_rules([Rule("r", terms=(term,), slip=True)]), text)
    assert (hit.form, hit.start, hit.end) == (Form.JAMO_SLIP, 2, 2 + len(term))
