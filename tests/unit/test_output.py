"""crawler.cli.output: hostile collected text is shown safely on terminals and in spreadsheets."""

from __future__ import annotations

import csv
import io
import re
from contextlib import redirect_stdout

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.cli.output import print_csv, print_table, spreadsheet_safe, terminal_safe

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
C0 = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
C1 = "".join(chr(c) for c in range(0x7F, 0xA0))
DANGEROUS = re.compile(f"[{re.escape(C0 + C1 + BIDI)}\t\n\r\u2028\u2029]")


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
        "\r=1",
        "=cmd|' /C calc'!A0",
    ],
)
def test_formula_like_cells_get_a_leading_apostrophe(cell: str) -> None:
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["plain", "1+1", "a=b", " =1", "'quoted", "", "€5", "#tag"])
def test_other_cells_are_unchanged(cell: str) -> None:
    assert spreadsheet_safe(cell) == cell


def test_negative_numbers_and_none_are_made_safe_strings() -> None:
    assert spreadsheet_safe(-5) == "'-5"
    assert spreadsheet_safe(5) == "5"
    assert spreadsheet_safe(None) == ""


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_spreadsheet_safe_cells_never_start_a_formula(text: str) -> None:
    safe = spreadsheet_safe(text)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert safe in (text, "'" + text)


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
    assert rows[1] == [text, ""]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(), min_size=2, max_size=2), max_size=4))
def test_csv_cells_read_back_as_their_spreadsheet_safe_form(rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        print_csv(["a", "b"], rows)
    read = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert read[0] == ["a", "b"]
    assert read[1:] == [[spreadsheet_safe(cell) for cell in row] for row in rows]
