"""`chanwatch items` output for people and spreadsheets, and what `--hash` accepts."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import Engine

from crawler.cli.items_cmd import CSV_COLUMNS
from crawler.ingest import ingest
from crawler.observations import CollectorKind, Platform, SourceKey
from tests.factories import photo, post
from tests.integration.cli_runner import Cli, Result

SHA = "ab" * 32


def _error(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1, result
    return lines[0]


@pytest.mark.parametrize(
    "value", ["zzz", "ab" * 20, "ab" * 31, SHA + "0", "g" * 64, "ab " * 16, "", "\x1b[2J" + SHA]
)
def test_a_hash_that_is_no_sha256_md5_or_pdq_is_refused(cli: Cli, value: str) -> None:
    error = _error(cli("items", "--hash", value))
    assert "--hash" in error and "64 hex digits" in error and "32" in error
    assert "\x1b" not in error


@pytest.mark.parametrize("value", [SHA.upper(), f"  {SHA}\n", SHA[:32].upper(), "f" * 64])
def test_a_hash_in_any_case_finds_its_item(cli: Cli, engine: Engine, value: str) -> None:
    ingest(engine, [post(1, media=(photo(SHA),)), post(2)])  # photo's PDQ is f * 64
    found = json.loads(cli("items", "--format", "json", "--hash", value).out)
    assert [r["platform_id"] for r in found] == [1]


def test_csv_keeps_handles_usable_and_guards_and_cleans_free_text(cli: Cli, engine: Engine) -> None:
    web = SourceKey(Platform.WEB, platform_id="example.org")
    ingest(engine, [
        post(1, "\u00a0=HYPERLINK(\"http://evil.example\")"),
        post(2, "\ufeff＝1+1"),
        post(3, "\x1b]0;pwned\x07\x1b[2Jfine\u202etxt\rover"),
        post(4, "겹\u200b지인방", source=web, collector=CollectorKind.WEB_PAGE,
             url="https://example.org/hub"),
    ])  # fmt: skip
    out = cli("items", "--format", "csv").out
    assert not any(c in out for c in "\x1b\x07\u202e")
    rows = {row["platform_id"]: row for row in csv.DictReader(io.StringIO(out))}

    assert list(rows["1"]) == list(CSV_COLUMNS) and CSV_COLUMNS[-1] == "username"
    assert rows["1"]["username"] == "example_news"  # no guard: sorts and looks up as typed
    assert rows["1"]["source"] == "'@example_news"  # kept for readers of the earlier columns
    assert rows["1"]["text"] == '\'\u00a0=HYPERLINK("http://evil.example")'
    assert rows["2"]["text"] == "'\ufeff＝1+1"
    assert rows["3"]["text"] == "\ufffd]0;pwned\ufffd\ufffd[2Jfine\ufffdtxt\nover"
    web_row = next(r for r in rows.values() if r["source"] == "example.org")
    assert (web_row["username"], web_row["text"]) == ("", "겹\u200b지인방")


def test_table_shows_invisible_characters_and_utc_times(cli: Cli, engine: Engine) -> None:
    ingest(engine, [post(1, "겹\u200b지인방\u3164 링크")])
    out = cli("items").out
    assert "겹⟨ZWSP⟩지인방⟨HF⟩ 링크" in out
    assert "posted (UTC)" in out and "2024-08-26 12:01:00" in out and "+00:00" not in out
