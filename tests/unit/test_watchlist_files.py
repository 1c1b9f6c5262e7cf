"""crawler.watchlists and its targets and export: intervals, atomic YAML import with every
problem by line, YAML export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawler.errors import UserError
from crawler.input_limits import MAX_INTERVAL_S, InputError
from crawler.watchlist_export import export_yaml
from crawler.watchlist_targets import (
    DEFAULT_INTERVAL_S,
    checked_list_name,
    format_interval,
    parse_interval,
    target_spec,
)
from crawler.watchlists import WatchlistFileError, parse_watchlist_yaml
from storage.watchlist_store import TargetRow, TargetSpec

EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "config" / "watchlists" / "example.yaml"
ADDED = datetime(2026, 1, 1, tzinfo=UTC)


# --- intervals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90),
        ("60", 60),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        (" 6H ", 21600),
        ("15 m", 900),
        (3600, 3600),
        (60, 60),
    ],
)
def test_interval_spellings_parse_to_seconds(value: str | int, seconds: int) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize(
    "value", ["", "abc", "1.5h", "-5m", "30 minutes", "1w", "h", "5m30s", True, False]
)
def test_malformed_intervals_are_user_errors(value: str | bool) -> None:
    with pytest.raises(UserError, match="invalid interval"):
        parse_interval(value)


@pytest.mark.parametrize("value", ["59s", "59", "0", "0m", 0, 30, -60])
def test_intervals_below_a_minute_are_refused(value: str | int) -> None:
    with pytest.raises(UserError, match="shorter than 60s"):
        parse_interval(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(60, "1m"), (90, "90s"), (3600, "1h"), (5400, "90m"), (86400, "1d"), (90000, "25h"),
     (172800, "2d"), (61, "61s")],
)  # fmt: skip
def test_format_interval_uses_the_largest_whole_unit(seconds: int, text: str) -> None:
    assert format_interval(seconds) == text


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=60, max_value=MAX_INTERVAL_S))
def test_formatted_interval_parses_back_to_the_same_seconds(seconds: int) -> None:
    assert parse_interval(format_interval(seconds)) == seconds


# --- parsing -----------------------------------------------------------------------------------

GOOD_FILE = """\
watchlists:
  - name: news
    description: Public news channels
    targets:
      - locator: "@Durov"
        interval: 30m
        tags: [news, official, news]
        note: Founder's channel
        priority: 5
      - locator: https://t.me/s/telegram
        kind: tme_preview
      - "https://Example.COM/page#frag"
      - locator: t.me/+AbCdEf
        enabled: false
      - locator: https://example.com/hub
        options: {selector: "#main", ignore: [.clock, .ads], alert_on_change: true}
  - name: empty
"""


def test_good_file_parses_into_normalized_entries_with_lines() -> None:
    entries = parse_watchlist_yaml(GOOD_FILE)
    assert [(e.list_name, e.line) for e in entries] == [
        ("news", 5), ("news", 10), ("news", 12), ("news", 13), ("news", 15),
    ]  # fmt: skip
    assert {e.description for e in entries} == {"Public news channels"}
    assert [e.spec for e in entries] == [
        TargetSpec(
            kind="telegram",
            locator="@durov",
            interval_s=1800,
            tags=("news", "official"),
            note="Founder's channel",
            priority=5,
        ),
        TargetSpec(kind="tme_preview", locator="@telegram", interval_s=DEFAULT_INTERVAL_S),
        TargetSpec(
            kind="web_page", locator="https://example.com/page", interval_s=DEFAULT_INTERVAL_S
        ),
        TargetSpec(
            kind="telegram_invite",
            locator="https://t.me/+AbCdEf",
            interval_s=DEFAULT_INTERVAL_S,
            enabled=False,
        ),
        TargetSpec(
            kind="web_page",
            locator="https://example.com/hub",
            interval_s=DEFAULT_INTERVAL_S,
            options={"selector": "#main", "ignore": [".clock", ".ads"], "alert_on_change": True},
        ),
    ]


def test_shipped_example_watchlist_parses() -> None:
    entries = parse_watchlist_yaml(EXAMPLE_FILE.read_text(encoding="utf-8"))
    assert entries
    assert all(e.list_name for e in entries)


def test_tags_are_stripped_deduplicated_and_sorted() -> None:
    text = (
        "watchlists:\n  - name: a\n    targets:\n"
        "      - {locator: '@durov', tags: [' b ', a, '', b, 3]}\n"
    )
    (entry,) = parse_watchlist_yaml(text)
    assert entry.spec.tags == ("3", "a", "b")


def test_private_host_is_refused_unless_allowed() -> None:
    text = "watchlists:\n  - name: lab\n    targets:\n      - http://127.0.0.1:8080/page\n"
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(text)
    (problem,) = caught.value.problems
    assert problem.startswith("line 4: ")
    assert "net.allow_private_hosts" in problem
    (entry,) = parse_watchlist_yaml(text, allow_private=("127.0.0.1:8080",))
    assert entry.spec.locator == "http://127.0.0.1:8080/page"


BAD_FILE = """\
watchlists:
  - name: mixed
    targets:
      - "@durov"
      - "@ab"
      - locator: ftp://example.com/
      - locator: "@telegram"
        interval: 10s
      - {locator: "@telegram", colour: red}
      - note: no locator here
      - {locator: "@telegram", priority: true}
      - {locator: "@telegram", enabled: "yes"}
      - {locator: "@telegram", tags: news}
      - {locator: "@telegram", options: [1]}
      - {locator: "https://t.me/+123456789"}
      - {locator: "https://t.me/c/123/4"}
      - {locator: "@telegram", kind: rss}
      - {locator: "https://example.com/", kind: telegram}
      - https://t.me/joinchat
      - http://169.254.169.254/latest/meta-data/
  - description: no name
    targets: ["@durov"]
  - name: strange
    colour: blue
  - name: notalist
    targets: "@durov"
  - name: fine
    targets:
      - "@telegram"
      - locator: "@durov"
        interval: soon
"""
BAD_LINES = [5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 25, 30]


def test_every_bad_entry_is_reported_with_its_line() -> None:
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(BAD_FILE)
    problems = caught.value.problems
    lines = [int(problem.split(":")[0].removeprefix("line ")) for problem in problems]
    assert sorted(lines) == BAD_LINES, problems
    assert all(problem.startswith(f"line {line}: ") for problem, line in zip(problems, lines))
    assert str(caught.value) == f"{len(BAD_LINES)} bad entries"


def test_each_problem_says_what_is_wrong() -> None:
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(BAD_FILE)
    by_line = {int(p.split(":")[0].removeprefix("line ")): p for p in caught.value.problems}
    expected = {
        5: "invalid Telegram username",
        6: "only http and https",
        7: "shorter than 60s",
        9: "unknown target keys ['colour']",
        10: "needs a 'locator'",
        11: "'priority' must be an integer",
        12: "'enabled' true or false",
        13: "'tags' must be a list",
        14: "'options' a mapping",
        15: "phone-number link",
        16: "private chats",
        17: "unknown target kind",
        18: "not a Telegram channel",
        19: "Telegram feature",
        20: "net.allow_private_hosts",
        21: "needs a 'name'",
        23: "unknown watchlist keys ['colour']",
        25: "'targets' must be a list",
        30: "invalid interval",
    }
    for line, fragment in expected.items():
        assert fragment in by_line[line], by_line[line]


def test_problems_are_one_line_each() -> None:
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(BAD_FILE)
    assert all("\n" not in problem for problem in caught.value.problems)


def test_one_bad_entry_rejects_the_whole_file() -> None:
    text = (
        "watchlists:\n  - name: a\n    targets:\n"
        "      - '@durov'\n      - '@x'\n      - '@telegram'\n"
    )
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(text)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("line 5: ")
    assert str(caught.value) == "1 bad entry"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("watchlists:\n  - name: a\n    targets: [\n", 4),
        ("watchlists:\n  - name: 'unterminated\n", 3),
        ("watchlists:\n\t- name: a\n", 2),
    ],
)
def test_invalid_yaml_refuses_the_whole_file_with_its_line(text: str, line: int) -> None:
    with pytest.raises(InputError) as caught:
        parse_watchlist_yaml(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: not valid YAML")


@pytest.mark.parametrize(
    "text", ["", "# only a comment\n", "targets: []\n", "watchlists: {}\n", "- '@durov'\n"]
)
def test_file_without_a_watchlists_list_is_refused(text: str) -> None:
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(text)
    (problem,) = caught.value.problems
    assert "expected a top-level 'watchlists:' list" in problem
    assert problem.startswith("line ")


def test_watchlist_file_error_is_a_user_error() -> None:
    assert issubclass(WatchlistFileError, UserError)


@pytest.mark.parametrize(
    "node",
    [
        "!!python/object/apply:os.system ['true']",
        "!custom '@durov'",
        "!!int abc",
        "!!float x",
        "!!timestamp nope",
        "!!set [1]",
        "!!omap x",
        "{? [a]: b}",
        "{locator: '@durov', options: !!int many}",
    ],
)
def test_bad_tags_are_problems_not_crashes(node: str) -> None:
    # Regression: PyYAML's ConstructorError, ValueError or AttributeError escaped the parser.
    text = f"watchlists:\n  - name: a\n    targets:\n      - '@ab'\n      - {node}\n"
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(text)
    first, second = caught.value.problems
    assert first.startswith("line 4: invalid Telegram username")  # still reported alongside
    assert second.startswith("line 5: not valid YAML (")
    assert "\n" not in second


def test_bad_tag_in_a_watchlist_field_is_a_problem_on_the_list_line() -> None:
    text = (
        "watchlists:\n  - name: a\n    description: !!int nope\n    targets: ['@durov']\n"
        "  - name: b\n    targets: ['@x']\n"
    )
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(text)
    assert [p.split(":")[0] for p in caught.value.problems] == ["line 2", "line 6"]


# --- options and list names ----------------------------------------------------------------------


def _one_target(target: str, name: str = "a") -> str:
    return f"watchlists:\n  - name: {name}\n    targets:\n      - {target}\n"


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("{locator: '@durov', options: {selector: '#x'}}",
         "option 'selector' does not apply to telegram targets, only to web_page targets"),
        ("{locator: 't.me/s/durov', options: {alert_on_change: true}}",
         "option 'alert_on_change' does not apply to tme_preview targets"),
        ("{locator: 't.me/+AbCdEf', options: {xpath: '//p'}}",
         "option 'xpath' does not apply to telegram_invite targets"),
        ("{locator: '@durov', options: {depth: 1}}",
         "unknown option 'depth' for telegram targets (options they take: none)"),
        ("{locator: 'https://example.org/', options: {selecter: p}}",
         "unknown option 'selecter' for web_page targets (options they take: alert_on_change, "
         "ignore, selector, xpath)"),
        ("{locator: 'https://example.org/', options: {selector: 'div >'}}",
         "option 'selector': invalid CSS selector 'div >'"),
        ("{locator: 'https://example.org/', options: {selector: 'a[href'}}",
         "option 'selector': invalid CSS selector"),
        ("{locator: 'https://example.org/', options: {selector: 'p::text'}}",
         "option 'selector': 'p::text' has a pseudo-element"),
        ("{locator: 'https://example.org/', options: {selector: 3}}",
         "option 'selector' must be a CSS selector string"),
        ('{locator: "https://example.org/", options: {selector: "\\b"}}',
         "option 'selector': invalid CSS selector"),
        ("{locator: 'https://example.org/', options: {ignore: ['.ok', '[[']}}",
         "option 'ignore': invalid CSS selector '[['"),
        ("{locator: 'https://example.org/', options: {ignore: '#a,'}}",
         "option 'ignore': invalid CSS selector '#a,'"),
        ("{locator: 'https://example.org/', options: {ignore: {a: 1}}}",
         "option 'ignore' must be a CSS selector or a list of them"),
        ("{locator: 'https://example.org/', options: {xpath: '//*['}}",
         "option 'xpath': invalid XPath '//*['"),
        ("{locator: 'https://example.org/', options: {xpath: ''}}",
         "option 'xpath': invalid XPath ''"),
        ("{locator: 'https://example.org/', options: {selector: p, xpath: //p}}",
         "options 'selector' and 'xpath' both name the part to watch"),
        ("{locator: 'https://example.org/', options: {alert_on_change: 'yes'}}",
         "option 'alert_on_change' must be true or false"),
    ],
)  # fmt: skip
def test_options_a_kind_does_not_read_or_cannot_parse_are_refused(
    target: str, fragment: str
) -> None:
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(_one_target(target))
    (problem,) = caught.value.problems
    assert problem.startswith("line 4: ") and fragment in problem, problem


@pytest.mark.parametrize(
    "options",
    [
        {"selector": "#dev_page_content"},
        {"selector": "div.post > p:nth-child(2n+1), article:not(.ad)"},
        {"xpath": "//main//p[re:test(@class, 'post-\\d+')]"},
        {"xpath": "//*[has-class('post')]"},
        {"ignore": ".clock"},
        {"ignore": [".clock", "#ads iframe"], "alert_on_change": False},
        {"selector": "main", "ignore": [], "alert_on_change": True},
    ],
)
def test_page_options_the_spider_can_use_are_kept(options: dict[str, Any]) -> None:
    spec = target_spec("https://example.org/", kind="web_page", options=options)
    assert spec.options == options


def test_options_are_checked_for_cli_adds_too() -> None:
    # `watchlist add` and `watchlist import` both go through target_spec.
    with pytest.raises(UserError, match="option 'selector' does not apply to telegram"):
        target_spec("@durov", options={"selector": "#x"})


@pytest.mark.parametrize("name", ["''", "'   '", '"\\t "', '"\\u2028"'])
def test_blank_watchlist_names_are_refused(name: str) -> None:
    with pytest.raises(WatchlistFileError) as caught:
        parse_watchlist_yaml(_one_target("'@durov'", name=name))
    (problem,) = caught.value.problems
    assert problem == "line 2: a watchlist name cannot be empty or only spaces"


@pytest.mark.parametrize("name", ["", " ", "\t\n", "\u3000"])
def test_checked_list_name_refuses_blank_names(name: str) -> None:
    with pytest.raises(UserError, match="cannot be empty or only spaces"):
        checked_list_name(name)


def test_checked_list_name_keeps_a_name_as_given() -> None:
    assert checked_list_name("  rooms ") == "  rooms "


# --- export round trip -------------------------------------------------------------------------


def row(
    watchlist: str,
    kind: str,
    locator: str,
    *,
    row_id: int = 1,
    interval_s: int = 3600,
    tags: list[str] | None = None,
    note: str | None = None,
    options: dict[str, Any] | None = None,
    priority: int = 0,
    enabled: bool = True,
) -> TargetRow:
    return TargetRow(
        id=row_id,
        watchlist=watchlist,
        kind=kind,
        locator=locator,
        interval_s=interval_s,
        tags=tags or [],
        note=note,
        options=options or {},
        priority=priority,
        enabled=enabled,
        added_by="staff@example.org",
        added_at=ADDED,
        next_due_at=None,
        last_run_at=ADDED,
        last_status="ok",
        consecutive_failures=0,
    )


def spec_of(target: TargetRow) -> TargetSpec:
    return TargetSpec(
        kind=target.kind,
        locator=target.locator,
        interval_s=target.interval_s,
        tags=tuple(target.tags),
        note=target.note,
        options=target.options,
        priority=target.priority,
        enabled=target.enabled,
    )


def assert_round_trip(
    rows: list[TargetRow],
    descriptions: dict[str, str | None],
    allow: tuple[str, ...] = (),
) -> None:
    text = export_yaml(rows, descriptions)
    entries = parse_watchlist_yaml(text, allow)
    assert [(e.list_name, e.spec) for e in entries] == [(r.watchlist, spec_of(r)) for r in rows], (
        text
    )
    for entry in entries:
        assert entry.description == (descriptions.get(entry.list_name) or None)


def test_export_then_import_gives_the_same_specs() -> None:
    rows = [
        row("news", "telegram", "@durov", interval_s=1800, tags=["news", "official"],
            note="Founder: \"quoted\" #not-a-comment", priority=3),
        row("news", "tme_preview", "@telegram", interval_s=90, enabled=False),
        row("news", "web_page", "https://example.com/a?b=1&c=%C3%BC",
            options={"selector": "#main", "ignore": [".clock", ".ads"], "alert_on_change": True}),
        row("news", "web_page", "https://xn--bcher-kva.de/", priority=-1),
        row("invites", "telegram_invite", "https://t.me/+AbCdEf"),
        row("invites", "telegram_invite", "https://t.me/addlist/SlUg"),
    ]  # fmt: skip
    assert_round_trip(rows, {"news": "Public news: yes/no?", "invites": None})


def test_export_groups_rows_by_list_in_first_seen_order() -> None:
    rows = [row("b", "telegram", "@durov"), row("a", "telegram", "@telegram"),
            row("b", "telegram", "@telegram")]  # fmt: skip
    entries = parse_watchlist_yaml(export_yaml(rows, {}))
    assert [(e.list_name, e.spec.locator) for e in entries] == [
        ("b", "@durov"), ("b", "@telegram"), ("a", "@telegram"),
    ]  # fmt: skip


def test_export_of_allowed_private_page_reimports_with_the_same_allow_list() -> None:
    rows = [row("lab", "web_page", "http://127.0.0.1:8080/page")]
    assert_round_trip(rows, {}, allow=("127.0.0.0/8",))
    with pytest.raises(WatchlistFileError):
        parse_watchlist_yaml(export_yaml(rows, {}))


def test_export_of_nothing_reimports_as_nothing() -> None:
    assert parse_watchlist_yaml(export_yaml([], {})) == []


@pytest.mark.parametrize(
    "text",
    ["line\x85break", "para\u2028graph", "para\u2029graph", "\x85", "a\nb", "yes", "null", "- x",
     "'quoted'", "#hash", "@at", "  padded  ", "tab\there", "\u202eevil", "😀"],
)  # fmt: skip
def test_hostile_names_notes_and_descriptions_round_trip(text: str) -> None:
    # Regression for NEL/LS/PS: PyYAML wrote them raw in single quotes and read them back as
    # a space, so an exported list came back under a different name.
    name = text if text.strip() else f"list{text}"  # a blank name is refused on import
    rows = [row(name, "web_page", "https://example.com/", note=text,
                tags=[text.strip()] if text.strip() else [],
                options={"xpath": f'//*[@title="{text}"]'})]  # fmt: skip
    assert_round_trip(rows, {name: text})


IDENTIFIERS = st.text(min_size=1, max_size=12).filter(str.strip)
CSS = st.sampled_from(["#main", "div.post > p", "article", "[data-x='1']", ".clock"])
PAGE_OPTIONS = st.fixed_dictionaries(
    {}, optional={"selector": CSS, "ignore": CSS | st.lists(CSS, max_size=3),
                  "alert_on_change": st.booleans()},
) | st.fixed_dictionaries({"xpath": st.sampled_from(["//main", "//*[@id='x']//p"])})  # fmt: skip
LOCATED = st.sampled_from(
    [("telegram", "@durov"), ("tme_preview", "@telegram"), ("web_page", "https://example.com/x?y=1"),
     ("telegram_invite", "https://t.me/+AbCdEf"), ("web_page", "https://xn--bcher-kva.de/")]
).flatmap(
    lambda located: st.tuples(
        st.just(located), PAGE_OPTIONS if located[0] == "web_page" else st.just({})
    )
)  # fmt: skip
ROWS = st.builds(
    lambda name, located, interval, tags, note, priority, enabled: row(
        name, located[0][0], located[0][1], interval_s=interval, tags=tags, note=note,
        options=located[1], priority=priority, enabled=enabled,
    ),
    name=st.sampled_from(["news", "other"]) | IDENTIFIERS,
    located=LOCATED,
    interval=st.integers(60, MAX_INTERVAL_S),
    tags=st.lists(st.text(min_size=1).map(str.strip).filter(bool), unique=True, max_size=3).map(
        sorted
    ),
    note=st.none() | st.text(min_size=1),
    priority=st.integers(-1000, 1000),
    enabled=st.booleans(),
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROWS, max_size=4), description=st.none() | st.text(min_size=1))
@example(rows=[row("x\x85", "telegram", "@durov", note="\u2028")], description="\x85")
def test_any_exported_watchlist_reimports_to_the_same_specs(
    rows: list[TargetRow], description: str | None
) -> None:
    # Rows of one list come back grouped, in first-seen list order.
    order = list(dict.fromkeys(r.watchlist for r in rows))
    grouped = [r for name in order for r in rows if r.watchlist == name]
    assert_round_trip(grouped, {name: description for name in order})
