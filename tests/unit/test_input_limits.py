"""crawler.input_limits and the loaders that use it: hostile watchlist, rule and bank files are
one error with a line, never a traceback, an alias expansion or an unbounded allocation."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler import input_limits
from crawler.input_limits import (
    MAX_BANK_ROWS,
    MAX_SCALAR_CHARS,
    MAX_TARGETS_PER_FILE,
    MAX_YAML_DEPTH,
    InputError,
    compose_yaml,
)
from crawler.matching.banks import BankFileError, parse_bank_file
from crawler.matching.keywords import RuleError, load_rules_yaml
from crawler.watchlists import WatchlistFileError, parse_watchlist_yaml

# The 611-byte file: ten levels of nine-fold aliases, 9**9 copies of one string.
BOMB = 'l0: &l0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"\n' + "".join(
    f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10)
)
SHA = "5e" * 32


@pytest.fixture(params=["libyaml", "python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both parsers under the bounded composer: libyaml's, and PyYAML's own when it is absent."""
    if request.param == "python":
        monkeypatch.setattr(input_limits, "_Loader", input_limits._PythonLoader)


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (BOMB, 1, "anchors and aliases"),
        ("a: &x 1\n", 1, "anchors and aliases"),
        ("a: 1\nb: *x\n", 2, "anchors and aliases"),
        ("a: 1\nb: 2\na: 3\n", 3, "key 'a' appears twice"),
        ("a:\n  <<: {b: 1}\n", 2, "merge keys"),
        ("[" * 20_000, 1, "nest"),  # libyaml's scanner reads ahead, and says so first
        ("x:\n" + "  " * 30 + "- " * 30 + "a\n", 2, "nested deeper"),
        ("a: " + "x" * (MAX_SCALAR_CHARS + 1), 1, "longer than"),
        ("a: 1\n---\nb: 2\n", 2, "not valid YAML"),
        ("a: 1\nb: \x07\n", 2, "not valid YAML"),
        ("a: '\ud800'\n", None, "not valid YAML"),
    ],
)
def test_the_loader_refuses_with_one_line(text: str, line: int | None, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        compose_yaml(text)
    assert problem in caught.value.problem and "\n" not in str(caught.value)
    if line is not None:
        assert caught.value.line == line


def test_a_node_cap_stops_composing_before_the_file_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(input_limits, "MAX_YAML_NODES", 100)  # the real cap takes 3 s to reach
    with pytest.raises(InputError, match="more than 100 YAML values") as caught:
        compose_yaml("- a\n" * 1000)
    assert caught.value.line == 100


def _target_file(target: str) -> str:
    return f"watchlists:\n  - name: a\n    targets:\n      - {target}\n"


@pytest.mark.parametrize("field", ["tags", "note", "kind", "interval", "options"])
def test_an_alias_bomb_in_any_watchlist_field_is_refused_before_expansion(field: str) -> None:
    aliases = "".join(f"    - &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10))
    text = (
        "defs:\n    - &l0 AAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" + aliases
        + "watchlists:\n  - name: a\n    targets:\n"
        + f"      - {{locator: '@durov', {field}: *l9}}\n"
    )  # fmt: skip
    with pytest.raises(InputError, match="line 2: YAML anchors and aliases"):
        parse_watchlist_yaml(text)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (_target_file("{locator: '@durov', locator: '@other'}"), 4, "key 'locator' appears twice"),
        ("watchlists:\n  - name: a\n    targets: ['@durov']\n    targets: ['@x']\n", 4,
         "key 'targets' appears twice"),
        ("watchlists: []\nwatchlists:\n  - name: a\n", 2, "key 'watchlists' appears twice"),
        ("watchlists:\n  - name: a\n    targets:\n" + "      - '@durov'\n" * 10_001,
         4 + MAX_TARGETS_PER_FILE, f"more than {MAX_TARGETS_PER_FILE} targets in one file"),
    ],
)  # fmt: skip
def test_watchlist_files_refused_as_a_whole(text: str, line: int, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_watchlist_yaml(text)
    assert (caught.value.line, caught.value.problem) == (line, problem)


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("{locator: '@durov', note: '" + "n" * 4001 + "'}", "'note' must be at most 4000"),
        ("{locator: '@durov', note: [a, b]}", "'note' must be text, not a list"),
        ("{locator: '@durov', priority: 99999999999999999999999}", "'priority' must be within"),
        ("{locator: '@durov', interval: 99999999999999999999d}", "longer than 366 days"),
        ("{locator: '@durov', interval: '" + "9" * 5000 + "'}", "invalid interval '999"),
        ("{locator: '@durov', tags: [[a]]}", "tags must be words, not a list"),
        ("{locator: '@durov', tags: ['" + "t" * 101 + "']}", "a tag must be at most 100"),
        ("{locator: '@durov', kind: [telegram]}", "'kind' must be a word"),
        ("{locator: 'https://e.org/', options: {selector: '" + "a" * 2001 + "'}}", "at most 2000"),
        ("{locator: '" + "https://e.org/" + "a" * 2048 + "'}", "a locator must be at most 2048"),
    ],
)
def test_oversized_or_mistyped_fields_are_entry_problems(target: str, fragment: str) -> None:
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(_target_file(target))
    (problem,) = caught.value.problems
    assert problem.startswith("line 4: ") and fragment in problem, problem
    assert len(problem) < 200


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ("name: '" + "n" * 101 + "'", "a watchlist name must be at most 100"),
        ("name: a\n    description: [a, list]", "'description' must be text, not a list"),
    ],
)
def test_list_fields_are_capped_and_typed(fields: str, fragment: str) -> None:
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(f"watchlists:\n  - {fields}\n    targets: ['@durov']\n")
    (problem,) = caught.value.problems
    assert problem.startswith("line 2: ") and fragment in problem


def test_ten_thousand_bad_entries_print_fifty_lines_and_a_count() -> None:
    text = "watchlists:\n  - name: a\n    targets:\n" + "      - '@x'\n" * 10_000
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(text)
    assert len(caught.value.problems) == 51
    assert caught.value.problems[-1] == "and 9950 more bad entries"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("rules:\n  - &r {name: a, terms: [지인능욕]}\n  - *r\n", 2, "anchors and aliases"),
        ("rules:\n  - name: a\n    terms: [ab]\n    terms: [cd]\n", 4, "appears twice"),
        ("rules:\n  - name: a\n    terms: ['" + "가" * 101 + "']\n", 2, "over 100 characters"),
        ("rules:\n  - name: a\n    regexes: ['" + "(" * 499 + ")" * 499 + "']\n", 2,
         "nests too deeply"),
        ("rules:\n  - name: '" + "n" * 101 + "'\n    terms: [ab]\n", 2, "at most 100 characters"),
        ("rules:\n  - name: a\n    terms: [지인능욕]\n    language: '" + "a" * 5000 + "'\n", 2,
         "BCP 47"),
        ("rules:\n" + "  - {name: a, terms: [ab]}\n" * 5001, 5002, "more than 5000 rules"),
    ],
)  # fmt: skip
def test_hostile_rule_files_are_one_rule_error(text: str, line: int, message: str) -> None:
    with pytest.raises(RuleError, match=message) as caught:
        load_rules_yaml(text)
    assert caught.value.line == line and len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("text", "name", "fragment"),
    [
        ("[" * 20_000 + "\n", "x.jsonl", "line 1: longer than 16384"),
        ('{"a": ' * 100 + "1" + "}" * 100 + "\n", "x.jsonl", "line 1: JSON nested deeper"),
        (json.dumps({"signal_type": "md5"})[:-1] + ', "value": "a", "value": "b"}', "x.jsonl",
         "line 1: key 'value' appears twice"),
        (f'{{"signal_type": "sha256", "value": {"9" * 5000}}}', "x.jsonl", "line 1: not valid"),
        (f'sha256,{SHA},ok\nsha256,"{"x" * 200_000}"\n', "x.csv", "line 2: not valid CSV"),
        (f"sha256,{SHA},{'l' * 20_000}\n", "x.csv", "line 1: longer than 16384"),
        ("sha256," + "x" * 10_000 + "\n", "x.csv", "got 'xxxx"),
        (f"sha256,{SHA}\n" * (MAX_BANK_ROWS + 1), "x.csv", f"more than {MAX_BANK_ROWS} lines"),
    ],
)  # fmt: skip
def test_hostile_bank_files_are_one_bank_file_error(text: str, name: str, fragment: str) -> None:
    with pytest.raises(BankFileError) as caught:
        parse_bank_file(text, name)
    assert fragment in str(caught.value) and len(str(caught.value)) < 300, str(caught.value)


# --- fuzz: structure-aware documents, sizes bounded so that a pass is fast --------------------

_WORDS = st.sampled_from(
    ["@durov", "t.me/s/room_a", "https://example.org/hub", "30m", "1d", "web_page", "telegram",
     "#main", "//main[", "지인능욕", "겹 지 인", "(a)\\1", "low", "critical", "ko", "", "x" * 120,
     "yes", "0x7f", "1e400", "9" * 40, "\u202e", "a: b", "- c", "&a", "*a", "!!int x", "<<"]
)  # fmt: skip
_KEYS = st.sampled_from(
    ["watchlists", "name", "description", "targets", "locator", "kind", "interval", "tags",
     "note", "priority", "enabled", "options", "selector", "xpath", "ignore", "alert_on_change",
     "rules", "terms", "regexes", "allowlist", "severity", "language", "slip", "colour", "<<"]
)  # fmt: skip
_SCALARS = st.one_of(
    _WORDS, st.integers(-(2**70), 2**70), st.booleans(), st.none(), st.text(max_size=20)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)
    ),
    max_leaves=25,
)


@st.composite
def _yaml_documents(draw: st.DrawFn, top: str) -> str:
    """A document shaped like the real format, then perhaps broken the ways files break:
    an anchor and alias, a duplicated line (a duplicate key), deep nesting, a huge scalar."""
    value = draw(st.dictionaries(_KEYS, _VALUES, max_size=4) | st.lists(_VALUES, max_size=3))
    text = yaml.safe_dump({top: [value]}, allow_unicode=True, sort_keys=False)
    lines = text.splitlines()
    damage = draw(st.sampled_from(["none", "alias", "duplicate", "deep", "huge", "cut"]))
    if damage == "alias" and len(lines) > 1:
        lines[1] = lines[1] + " &a x" if ":" not in lines[1] else lines[1].replace(":", ": &a", 1)
        lines.append("  - *a")
    elif damage == "duplicate":
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(lines)))
    elif damage == "deep":
        depth = draw(st.integers(MAX_YAML_DEPTH - 3, 3 * MAX_YAML_DEPTH))
        lines.append("  - " + "[" * depth + "]" * depth)
    elif damage == "huge":
        lines.append("  - " + "h" * draw(st.integers(MAX_SCALAR_CHARS - 2, MAX_SCALAR_CHARS + 2)))
    elif damage == "cut":
        lines = lines[: draw(st.integers(0, len(lines)))]
    return "\n".join(lines) + "\n"


def _one_line(exc: Exception) -> None:
    assert str(exc) and "\n" not in str(exc), repr(exc)


_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(_yaml_documents("watchlists"))
def test_fuzzed_watchlists_parse_or_fail_with_our_one_line_errors(text: str) -> None:
    try:
        entries = parse_watchlist_yaml(text)
    except WatchlistFileError as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems)
    except InputError as exc:
        _one_line(exc)
    else:
        assert isinstance(entries, list)


@_FUZZ
@given(_yaml_documents("rules"))
def test_fuzzed_rule_files_load_or_fail_with_one_rule_error(text: str) -> None:
    try:
        rules = load_rules_yaml(text)
    except RuleError as exc:
        _one_line(exc)
    else:
        assert isinstance(rules, list)


_JSON = st.recursive(
    st.one_of(_WORDS, st.integers(-(2**70), 2**70), st.none(), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12,
)
_BANK_LINES = st.one_of(
    st.fixed_dictionaries(
        {"signal_type": st.sampled_from(["sha256", "PHOTO_PDQ", "md5", "sha1"])},
        optional={"value": st.sampled_from([SHA, SHA[:32], "zz"]), "labels": _JSON,
                  "status": _JSON},
    ).map(json.dumps),
    _JSON.map(json.dumps),
    st.integers(0, 3 * 16).map(lambda n: "[" * n + "]" * n),
    st.lists(st.sampled_from(["sha256", SHA, "md5", '"', "a,b", "#", "x" * 50, ""]), max_size=5)
    .map(",".join),
    st.text(max_size=30),
)  # fmt: skip


@_FUZZ
@given(st.lists(_BANK_LINES, max_size=6), st.sampled_from(["b.csv", "b.jsonl", "b.txt"]))
def test_fuzzed_bank_files_parse_or_fail_with_one_bank_file_error(
    lines: list[str], name: str
) -> None:
    try:
        records = parse_bank_file("\n".join(lines), name)
    except BankFileError as exc:
        _one_line(exc)
    else:
        assert isinstance(records, list)
