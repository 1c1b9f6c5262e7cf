"""crawler.cli.output: hostile collected text is shown safely on terminals and in spreadsheets."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import unicodedata
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from crawler.cli.output import (
    PIPE_WIDTH,
    json_text,
    print_csv,
    print_json,
    print_ndjson,
    print_table,
    spreadsheet_safe,
    table_width,
    terminal_safe,
    utc_time,
)

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
C0 = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
C1 = "".join(chr(c) for c in range(0x7F, 0xA0))
DANGEROUS = re.compile(f"[{re.escape(C0 + C1 + BIDI)}\t\n\r\u2028\u2029]")
# What a terminal would obey in a `cat` of a CSV file: everything above but TAB and LF.
CSV_DANGEROUS = re.compile(f"[{re.escape(C0 + C1 + BIDI)}\r\u2028\u2029]")
# Format characters that render as something (number signs spanning digits, hieroglyph layout).
VISIBLE_FORMAT = {0x600, 0x601, 0x602, 0x603, 0x604, 0x605, 0x6DD, 0x70F, 0x890, 0x891, 0x8E2,
                  0x110BD, 0x110CD, *range(0x13430, 0x13440)}  # fmt: skip


@pytest.fixture(autouse=True)
def plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich reads these; the test run's own terminal settings must not change the output."""
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES",
                "NO_COLOR", "TERM", "JUPYTER_COLUMNS", "JUPYTER_LINES"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)


# --- terminal_safe --------------------------------------------------------------------------


@pytest.mark.parametrize("char", list(C0 + C1), ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_neutralized(char: str) -> None:
    assert terminal_safe(f"a{char}b") == "a\ufffdb"


@pytest.mark.parametrize("char", list(BIDI), ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_controls_are_neutralized(char: str) -> None:
    assert terminal_safe(f"abc{char}def") == "abc\ufffddef"


@pytest.mark.parametrize(
    ("char", "marker"),
    [
        ("\u200b", "⟨ZWSP⟩"),
        ("\u200c", "⟨ZWNJ⟩"),
        ("\u200d", "⟨ZWJ⟩"),
        ("\u2060", "⟨WJ⟩"),
        ("\ufeff", "⟨BOM⟩"),
        ("\u00ad", "⟨SHY⟩"),
        ("\u3164", "⟨HF⟩"),
        ("\u115f", "⟨HF⟩"),
        ("\u1160", "⟨HF⟩"),
        ("\uffa0", "⟨HF⟩"),
        ("\u2800", "⟨BLANK⟩"),
        ("\U000e0041", "⟨U+E0041⟩"),
    ],
    ids=lambda c: f"U+{ord(c):04X}" if len(c) == 1 else c,
)
def test_invisible_characters_are_shown_by_name(char: str, marker: str) -> None:
    assert terminal_safe(f"겹{char}지인방") == f"겹{marker}지인방"


def test_a_word_padded_with_several_invisibles_shows_each() -> None:
    assert terminal_safe("지\u200b\u200b인\u3164능욕") == "지⟨ZWSP⟩⟨ZWSP⟩인⟨HF⟩능욕"


def test_a_joiner_inside_an_emoji_sequence_is_kept() -> None:
    assert (
        terminal_safe("👮\u200d♀\ufe0f 👨\u200d👩\u200d👧") == "👮\u200d♀\ufe0f 👨\u200d👩\u200d👧"
    )
    assert terminal_safe("\u200d👩 👩\u200d") == "⟨ZWJ⟩👩 👩⟨ZWJ⟩"


def test_every_invisible_format_character_is_replaced_or_named() -> None:
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) == "Cf" and code not in VISIBLE_FORMAT:
            assert char not in terminal_safe(f"a{char}b"), f"U+{code:04X}"


def test_right_to_left_override_cannot_reorder_a_file_name() -> None:
    shown = terminal_safe("invoice\u202efdp.exe")
    assert "\u202e" not in shown
    assert shown == "invoice\ufffdfdp.exe"


def test_ansi_escape_sequence_is_defused() -> None:
    shown = terminal_safe("\x1b[2J\x1b]0;pwned\x07title\x9b31m")
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "title" in shown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("line one\nline two", "line one line two"),
        ("a\r\nb", "a b"),
        ("a\n\n\nb", "a b"),
        ("a\tb", "a b"),
        ("a\u2028b\u2029c", "a b c"),
        ("a\rb", "a b"),
    ],
)
def test_newlines_and_tabs_become_one_space(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Привет, мир",
        "مرحبا بالعالم",
        "שלום",
        "日本語テキスト",
        "👨‍👩‍👧 family",
        "e\u0301",
        "[bold]x[/]",
    ],
)
def test_ordinary_text_in_any_script_is_unchanged(text: str) -> None:
    assert terminal_safe(text) == text


def test_none_is_empty_and_other_values_are_stringified() -> None:
    assert terminal_safe(None) == ""
    assert terminal_safe(42) == "42"
    assert terminal_safe(1.5) == "1.5"


def test_width_truncates_with_an_ellipsis() -> None:
    assert terminal_safe("abcdefghij", width=5) == "abcd…"
    assert len(terminal_safe("x" * 500, width=120)) == 120
    assert terminal_safe("abcde", width=5) == "abcde"


def test_width_applies_after_neutralizing() -> None:
    assert terminal_safe("a\nb\nc\nd", width=4) == "a b…"
    assert terminal_safe("a\u200bbcdef", width=6) == "a⟨ZWS…"


# --- utc_time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2024-08-27T13:05:09.123456Z", "2024-08-27 13:05:09"),
        ("2024-08-27T13:05:09+00:00", "2024-08-27 13:05:09"),
        ("2024-08-27T15:05:09+02:00", "2024-08-27 13:05:09"),
        (datetime(2024, 8, 27, 13, 5, 9, 999, tzinfo=UTC), "2024-08-27 13:05:09"),
        (
            datetime(2024, 8, 27, 22, 5, 9, tzinfo=timezone(timedelta(hours=9))),
            "2024-08-27 13:05:09",
        ),
        (None, "-"),
        ("not a time", "not a time"),
    ],
)
def test_times_are_shown_to_the_second_in_utc_without_an_offset(value: object, shown: str) -> None:
    assert utc_time(value) == shown  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_terminal_safe_output_never_holds_a_control_bidi_or_line_break(text: str) -> None:
    assert DANGEROUS.search(terminal_safe(text)) is None


# --- spreadsheet_safe -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        '=HYPERLINK("http://evil.example","click")',
        "+1",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1",
        "\tplain",
        "=cmd|' /C calc'!A0",
        " =1",
        "  +1",
        "\n=1",
        "\u00a0=1",
        "\u3000=1",
        "\ufeff=1",
        "\u200b=1",
        "\u200c\u200d\u2060@x",
        "\u00ad-1",
        "\u3164=1",
        "\ufeff \u200b\u00a0=1",
        "＝1+1",
        "＋1",
        "－1",
        "＠SUM(A1)",
        "\u200b＝1",
        "﹦1",
    ],
)
def test_formula_like_cells_get_a_leading_apostrophe(cell: str) -> None:
    assert spreadsheet_safe(cell) == "'" + cell


def test_a_leading_carriage_return_is_guarded_and_becomes_a_line_feed() -> None:
    assert spreadsheet_safe("\r=1") == "'\n=1"
    assert spreadsheet_safe("\r\n=1") == "'\n=1"


@pytest.mark.parametrize(
    "cell",
    ["plain", "1+1", "a=b", "'quoted", "", "€5", "#tag", "example_news", "지인능욕 =1", " x=1"],
)
def test_other_cells_are_unchanged(cell: str) -> None:
    assert spreadsheet_safe(cell) == cell


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("a\x1b[2Jb", "a\ufffd[2Jb"),
        ("x\x1b]0;pwned\x07y", "x\ufffd]0;pwned\ufffdy"),
        ("x\x9b31my", "x\ufffd31my"),
        ("x\x7fy", "x\ufffdy"),
        ("invoice\u202efdp.exe", "invoice\ufffdfdp.exe"),
        ("a\u2066b\u200fc\u061cd", "a\ufffdb\ufffdc\ufffdd"),
        ("over\rwrite", "over\nwrite"),
        ("a\tb\nc", "a\tb\nc"),
        ("겹\u200b지인방", "겹\u200b지인방"),
    ],
)
def test_csv_cells_cannot_drive_a_terminal(cell: str, safe: str) -> None:
    assert spreadsheet_safe(cell) == safe


def test_a_control_character_before_a_formula_is_replaced_and_guarded() -> None:
    assert spreadsheet_safe("\u202e=1") == "\ufffd=1"  # starts with a visible character now
    assert spreadsheet_safe("\x0b=1") == "\ufffd=1"


def test_negative_numbers_and_none_are_made_safe_strings() -> None:
    assert spreadsheet_safe(-5) == "'-5"
    assert spreadsheet_safe(5) == "5"
    assert spreadsheet_safe(None) == ""


def _first_visible(text: str) -> str:
    for char in text:
        if not (char.isspace() or unicodedata.category(char) == "Cf"
                or char in "\u3164\u115f\u1160\uffa0\u2800\u034f"):  # fmt: skip
            return unicodedata.normalize("NFKC", char)[:1]
    return ""


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("=+-@＝＋－＠﹦ \t\r\n\u00a0\ufeff\u200b\u3164\x1bab1"))
    | st.text()
)
def test_spreadsheet_safe_cells_never_start_a_formula(text: str) -> None:
    safe = spreadsheet_safe(text)
    assert CSV_DANGEROUS.search(safe) is None
    if not safe.startswith("'"):
        assert not safe.startswith(("\t", "\n"))
        assert _first_visible(safe) not in ("=", "+", "-", "@")
    cleaned = re.sub(CSV_DANGEROUS, "\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    assert safe in (cleaned, "'" + cleaned)


# --- print_table ---------------------------------------------------------------------------


def test_table_shows_markup_literally(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["text"], [["[bold red]alarm[/bold red] [link=http://evil.example]x[/link]"]])
    out = capsys.readouterr().out
    assert "[bold red]alarm[/bold red]" in out
    assert "[link=http://evil.example]x[/link]" in out
    assert "\x1b" not in out  # no styling applied, and no escape codes off a terminal


def test_table_cells_hold_no_control_or_bidi_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile = "evil\x1b[31m\u202etxt.exe\x07\nsecond line\u2066"
    print_table(["source", "text"], [["@chan", hostile]], title="1 item")
    out = capsys.readouterr().out
    assert DANGEROUS.search(out.replace("\n", "")) is None
    assert "second line" in out
    body = [line for line in out.splitlines() if "evil" in line]
    assert len(body) == 1 and "second line" in body[0]  # a newline cannot forge a new row


def test_table_renders_every_row_and_column(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["a", "b"], [[1, None], ["x", 2.5]], title="2 rows")
    out = capsys.readouterr().out
    assert "2 rows" in out
    for value in ("1", "x", "2.5"):
        assert value in out


def test_table_shows_invisible_characters(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["source", "text"], [["@room", "겹\u200b지인방 \u3164"]])
    out = capsys.readouterr().out
    assert "겹⟨ZWSP⟩지인방 ⟨HF⟩" in out
    assert "\u200b" not in out and "\u3164" not in out


def test_table_width_is_columns_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert table_width() == 80


def test_table_width_off_a_terminal_without_columns_is_wide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "zero")
    assert table_width() == PIPE_WIDTH  # stdout is captured here: not a terminal


@pytest.mark.parametrize("compact", [False, True])
def test_an_80_column_table_cuts_long_cells_with_an_ellipsis_instead_of_folding(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, compact: bool
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    rows = [[7, "2024-08-27 13:05:09", "지인능욕 " * 20, "x" * 90], [8, "-", "short", "y"]]
    print_table(["id", "when", "text", "other"], rows, flexible=("text", "other"), compact=compact)
    lines = capsys.readouterr().out.splitlines()
    assert all(cell_len(line) <= 80 for line in lines)
    (first,) = [line for line in lines if "2024-08-27 13:05:09" in line]  # the row is one line
    assert "…" in first and "x" * 90 not in first
    assert sum("short" in line for line in lines) == 1


def test_table_truncates_long_cells_to_120_characters(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["text"], [["y" * 500]])
    out = capsys.readouterr().out
    assert "y" * 119 + "…" in out
    assert "y" * 120 not in out


# --- print_csv ------------------------------------------------------------------------------


def _read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_defuses_formula_cells_and_keeps_the_rest(capsys: pytest.CaptureFixture[str]) -> None:
    print_csv(
        ["source", "text", "views"],
        [["@chan", '=HYPERLINK("http://evil.example")', -3], ["@other", "hello", 10]],
    )
    rows = _read_csv(capsys.readouterr().out)
    assert rows == [
        ["source", "text", "views"],
        ["'@chan", '\'=HYPERLINK("http://evil.example")', "'-3"],
        ["'@other", "hello", "10"],
    ]


def test_csv_round_trips_commas_quotes_and_newlines(capsys: pytest.CaptureFixture[str]) -> None:
    text = 'one, "two"\nthree\r\nfour'
    print_csv(["text", "none"], [[text, None]])
    rows = _read_csv(capsys.readouterr().out)
    assert rows[1] == ['one, "two"\nthree\nfour', ""]


def test_a_cat_of_the_csv_holds_no_terminal_control(capsys: pytest.CaptureFixture[str]) -> None:
    print_csv(["text"], [["\x1b]0;pwned\x07\x1b[2J\u202eevil\rhidden\x9b"]])
    out = capsys.readouterr().out
    assert CSV_DANGEROUS.search(out.replace("\r\n", "\n")) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(), min_size=2, max_size=2), max_size=4))
def test_csv_cells_read_back_as_their_spreadsheet_safe_form(rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        print_csv(["a", "b"], rows)
    read = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert read[0] == ["a", "b"]
    assert read[1:] == [[spreadsheet_safe(cell) for cell in row] for row in rows]


# What a `cat` of JSON output must not carry raw: every C0 control but the LF between lines,
# DEL, C1, bidi controls and the line and paragraph separators.
JSON_DANGEROUS = re.compile(f"[{re.escape(C0 + C1 + BIDI)}\t\r\u2028\u2029]")
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def test_json_escapes_each_terminal_control_as_a_u_escape() -> None:
    text = "\x7f\x85\x9b" + BIDI + "\u2028\u2029지인"
    assert json_text(text) == (
        '"\\u007f\\u0085\\u009b\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u202e'
        '\\u2066\\u2067\\u2068\\u2069\\u2028\\u2029지인"'
    )


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 2]))
def test_json_gives_back_the_data_and_carries_no_raw_control(
    data: object, indent: int | None
) -> None:
    text = json_text(data, indent=indent)
    assert json.loads(text) == data
    assert JSON_DANGEROUS.search(text) is None


def test_json_and_ndjson_printers_escape_keys_and_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile = "\x1b[2J\x7f\x9b\u202eevil\u2028"
    print_json([{hostile: hostile}])
    document = capsys.readouterr().out
    print_ndjson([{hostile: [hostile]}, {"n": 1}])
    lines = capsys.readouterr().out.splitlines()
    assert JSON_DANGEROUS.search(document + "".join(lines)) is None
    assert json.loads(document) == [{hostile: hostile}]
    assert [json.loads(line) for line in lines] == [{hostile: [hostile]}, {"n": 1}]
