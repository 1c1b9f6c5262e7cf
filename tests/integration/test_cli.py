"""The `chanwatch` command end to end on SQLite and PostgreSQL: watchlists, items, crawl, errors."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from crawler.cli.main import run
from crawler.ingest import ingest
from crawler.observations import LinkKind
from storage.engine import make_engine
from tests.factories import T0, link, photo, post
from tests.integration.cli_runner import Cli, Result


def _one_error_line(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("chanwatch: error: ")
    return lines[0]


def test_adding_normalizes_the_locator_and_a_repeat_is_a_no_op(cli: Cli) -> None:
    first = cli("watchlist", "add", "https://t.me/Example_News/123", "--tag", "news")
    again = cli("watchlist", "add", "@example_news", "--tag", "news")
    listed = json.loads(cli("watchlist", "list", "--format", "json").out)

    assert first.code == 0 and "added telegram @example_news" in first.out
    assert again.code == 0 and "already watched" in again.out
    assert [(t["kind"], t["locator"], t["tags"]) for t in listed] == [
        ("telegram", "@example_news", ["news"])
    ]


def test_preview_links_and_web_pages_get_their_kinds(cli: Cli) -> None:
    cli("watchlist", "add", "https://t.me/s/Example_News", "--interval", "30m")
    cli("watchlist", "add", "HTTPS://Example.ORG:443/path#frag", "--list", "pages")
    cli("watchlist", "add", "t.me/joinchat/AbCdEf_12")
    listed = {(t["kind"], t["locator"], t["interval"], t["watchlist"])
              for t in json.loads(cli("watchlist", "list", "--format", "json").out)}  # fmt: skip
    assert listed == {
        ("tme_preview", "@example_news", "30m", "default"),
        ("web_page", "https://example.org/path", "1h", "pages"),
        ("telegram_invite", "https://t.me/+AbCdEf_12", "1h", "default"),
    }


@pytest.mark.parametrize(
    "locator",
    ["t.me/+15551234567", "https://t.me/c/1234/5", "http://127.1/", "ftp://example.org/",
     "http://user:pw@example.org/", "http://[::ffff:10.0.0.1]/", "ab"],
)  # fmt: skip
def test_refused_locators_exit_2_with_one_line_and_write_nothing(cli: Cli, locator: str) -> None:
    result = cli("watchlist", "add", locator)
    assert result.code == 2
    _one_error_line(result)
    assert json.loads(cli("watchlist", "list", "--format", "json").out) == []


def test_remove_stops_watching_and_unknown_targets_are_an_error(cli: Cli) -> None:
    cli("watchlist", "add", "@example_news")
    assert cli("watchlist", "remove", "t.me/example_news").code == 0
    assert json.loads(cli("watchlist", "list", "--format", "json").out) == []
    assert cli("watchlist", "remove", "@example_news").code == 2


def test_disabled_targets_are_listed_as_such_and_never_crawled(cli: Cli) -> None:
    cli("watchlist", "add", "@example_news")
    cli("watchlist", "add", "@other_room", "--list", "rooms")
    disabled = cli("watchlist", "disable", "t.me/Example_News")
    assert (disabled.code, disabled.out) == (0, "disabled 1 target for @example_news\n")

    crawled = cli("crawl", "--once")
    assert "@example_news" not in crawled.out + crawled.err
    refused = cli("crawl", "--once", "--target", "@example_news")
    assert "disabled: @example_news" in _one_error_line(refused) and refused.code == 2
    state = {t["locator"]: (t["enabled"], t["last_status"])
             for t in json.loads(cli("watchlist", "list", "--format", "json").out)}  # fmt: skip
    assert state == {"@example_news": (False, None), "@other_room": (True, "no_account")}
    assert "│ no " in cli("watchlist", "list").out

    assert cli("watchlist", "enable", "@example_news").out == "enabled 1 target for @example_news\n"
    assert cli("crawl", "--once", "--target", "@example_news").code == 0
    (target,) = json.loads(cli("watchlist", "list", "--list", "default", "--format", "json").out)
    assert (target["enabled"], target["last_status"]) == (True, "no_account")


def test_enable_and_disable_honour_list_and_kind(cli: Cli) -> None:
    cli("watchlist", "add", "@example_news", "--list", "a")
    cli("watchlist", "add", "@example_news", "--list", "b")
    cli("watchlist", "add", "t.me/s/example_news", "--list", "b")
    assert (
        cli("watchlist", "disable", "@example_news", "--list", "b", "--kind", "telegram").code == 0
    )
    state = {(t["watchlist"], t["kind"]): t["enabled"]
             for t in json.loads(cli("watchlist", "list", "--format", "json").out)}  # fmt: skip
    assert state == {("a", "telegram"): True, ("b", "telegram"): False, ("b", "tme_preview"): True}
    assert cli("watchlist", "disable", "@example_news").out == (
        "disabled 3 targets for @example_news\n"
    )


@pytest.mark.parametrize("command", ["enable", "disable"])
def test_enabling_or_disabling_what_is_not_watched_is_one_line_and_exit_2(
    cli: Cli, command: str
) -> None:
    cli("watchlist", "add", "@example_news", "--list", "a")
    missing = cli("watchlist", command, "@not_watched")
    assert _one_error_line(missing) == "chanwatch: error: not watched: @not_watched"
    assert missing.code == 2
    assert cli("watchlist", command, "@example_news", "--list", "b").code == 2
    assert cli("watchlist", command, "@ab").code == 2
    (target,) = json.loads(cli("watchlist", "list", "--format", "json").out)
    assert target["enabled"] is True


def test_a_channel_name_given_as_a_web_page_says_what_a_web_page_needs(cli: Cli) -> None:
    result = cli("watchlist", "add", "@some_channel", "--kind", "web_page")
    line = _one_error_line(result)
    assert result.code == 2
    assert "a web_page target needs an http(s) URL" in line
    assert "telegram" in line and "tme_preview" in line and "credentials" not in line
    assert json.loads(cli("watchlist", "list", "--format", "json").out) == []


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_a_blank_list_name_is_refused_by_every_command_that_takes_one(cli: Cli, name: str) -> None:
    cli("watchlist", "add", "@example_news")
    for args in (
        ("add", "@other_room"), ("list",), ("export",), ("remove", "@example_news"),
        ("disable", "@example_news"), ("enable", "@example_news"),
    ):  # fmt: skip
        result = cli("watchlist", *args, "--list", name)
        assert _one_error_line(result).endswith("a watchlist name cannot be empty or only spaces")
        assert result.code == 2 and result.out == ""
    (target,) = json.loads(cli("watchlist", "list", "--format", "json").out)
    assert (target["watchlist"], target["locator"], target["enabled"]) == (
        "default", "@example_news", True,
    )  # fmt: skip


def test_import_refuses_options_the_kind_does_not_read_and_bad_selectors(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "pages.yaml").write_text(
        "watchlists:\n"
        "  - name: pages\n"
        "    targets:\n"
        "      - {locator: 'https://example.org/ok', options: {selector: '#main'}}\n"
        "      - {locator: '@example_news', options: {selector: '#main'}}\n"
        "      - {locator: 't.me/s/example_news', options: {alert_on_change: true}}\n"
        "      - {locator: 'https://example.org/a', options: {selector: 'div >'}}\n"
        "      - {locator: 'https://example.org/b', options: {ignore: ['.ok', 'a[']}}\n"
        "      - {locator: 'https://example.org/c', options: {xpath: '//main['}}\n",
        encoding="utf-8",
    )
    result = cli("watchlist", "import", "pages.yaml")
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 5, result.err
    assert lines[0] == ("chanwatch: error: pages.yaml: line 5: option 'selector' does not apply "
                        "to telegram targets, only to web_page targets")  # fmt: skip
    assert "line 6: option 'alert_on_change' does not apply to tme_preview targets" in lines[1]
    assert "line 7: option 'selector': invalid CSS selector 'div >'" in lines[2]
    assert "line 8: option 'ignore': invalid CSS selector 'a['" in lines[3]
    assert "line 9: option 'xpath': invalid XPath '//main['" in lines[4]
    assert json.loads(cli("watchlist", "list", "--format", "json").out) == []


def test_list_as_csv_keeps_handles_usable_and_neutralizes_free_text(cli: Cli) -> None:
    cli("watchlist", "add", "@example_news", "--tag", "news", "--tag", "ko",
        "--note", '=HYPERLINK("http://evil")')  # fmt: skip
    cli("watchlist", "add", "t.me/s/other_room", "--list", "previews", "--interval", "30m")
    cli("watchlist", "add", "https://example.org/hub", "--kind", "web_page")
    cli("watchlist", "disable", "https://example.org/hub")
    result = cli("watchlist", "list", "--format", "csv")

    assert result.code == 0
    reader = csv.DictReader(io.StringIO(result.out))
    assert reader.fieldnames == [
        "watchlist", "kind", "locator", "username", "interval", "tags", "priority", "enabled",
        "last_status", "last_run_at", "note",
    ]  # fmt: skip
    rows = {row["username"] or row["locator"]: row for row in reader}
    assert set(rows) == {"example_news", "other_room", "https://example.org/hub"}
    # The handle column needs no guard; the locator cell is still never read as a formula.
    channel = rows["example_news"]
    assert not channel["locator"].startswith("@") and channel["locator"].endswith("@example_news")
    assert (channel["kind"], channel["tags"], channel["enabled"]) == ("telegram", "ko,news", "true")
    assert channel["note"].startswith("'=HYPERLINK")
    assert (rows["other_room"]["kind"], rows["other_room"]["interval"]) == ("tme_preview", "30m")
    page = rows["https://example.org/hub"]
    assert (page["username"], page["enabled"], page["kind"]) == ("", "false", "web_page")


def test_import_is_atomic_and_names_every_bad_entry_by_line(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "watchlists:\n"
        "  - name: rooms\n"
        "    targets:\n"
        "      - locator: '@good_channel'\n"
        "      - locator: http://10.0.0.8/\n"
        "      - locator: '@ok_channel'\n"
        "        interval: 5x\n"
        "      - locator: t.me/+4912345\n",
        encoding="utf-8",
    )
    result = cli("watchlist", "import", str(bad))
    errors = result.err.strip().splitlines()
    assert result.code == 2
    assert [e.split(": ")[3] for e in errors] == ["line 5", "line 6", "line 8"]
    assert all(e.split(": ")[2].endswith("bad.yaml") for e in errors)
    assert json.loads(cli("watchlist", "list", "--format", "json").out) == []


def test_export_is_reimportable(cli: Cli, tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "watchlists" / "example.yaml"
    assert cli("watchlist", "import", str(example)).code == 0
    before = json.loads(cli("watchlist", "list", "--format", "json").out)
    exported = cli("watchlist", "export").out
    for target in before:
        assert cli("watchlist", "remove", target["locator"]).code == 0
    (tmp_path / "round.yaml").write_text(exported, encoding="utf-8")
    assert cli("watchlist", "import", str(tmp_path / "round.yaml")).code == 0
    after = json.loads(cli("watchlist", "list", "--format", "json").out)
    keys = ("watchlist", "kind", "locator", "interval", "tags", "note", "options", "enabled")
    assert [{k: t[k] for k in keys} for t in after] == [{k: t[k] for k in keys} for t in before]


def test_items_json_follows_the_contract(cli: Cli, engine: Engine) -> None:
    ingest(engine, [
        post(1, "older", posted_at=T0),
        post(2, "지인능욕 링크", media=(photo(),), edited=True,
             links=(link("https://t.me/room_two", LinkKind.CHANNEL, "room_two"),)),
    ])  # fmt: skip
    result = cli("items", "--format", "json", "--source", "@Example_News")
    records = json.loads(result.out)

    assert result.code == 0
    assert [r["platform_id"] for r in records] == [2, 1]
    newest = records[0]
    assert {
        "id", "source", "source_id", "platform_id", "url", "posted_at", "collected_at",
        "edited_at", "deleted_at", "edited", "views", "forwards", "views_raw", "text",
        "text_sha256", "versions", "fwd_from", "reply_to", "grouped_id", "media", "links",
    } <= set(newest)  # fmt: skip
    assert newest["source"] == "@example_news" and newest["source_id"] == "1234567890"
    assert newest["posted_at"].endswith("Z") and newest["edited"] is True
    assert newest["media"][0]["hash_status"] == "hashed"
    assert newest["links"] == [
        {"url": "https://t.me/room_two", "kind": "channel", "target": "room_two"}
    ]
    by_hash = json.loads(cli("items", "--format", "json", "--hash", "AB" * 32).out)
    assert [r["platform_id"] for r in by_hash] == [2]
    window = cli("items", "--format", "json", "--since", "2024-08-26T12:01:00Z",
                 "--until", "2024-08-26T12:03:00+00:00")  # fmt: skip
    assert [r["platform_id"] for r in json.loads(window.out)] == [2]
    assert json.loads(cli("items", "--format", "json", "--text", "능욕").out)[0]["platform_id"] == 2


def test_hostile_text_is_neutralized_in_tables_and_csv(cli: Cli, engine: Engine) -> None:
    hostile = '=HYPERLINK("http://evil")\u202e[bold red]fake[/]\x1b[31m'
    ingest(engine, [post(1, hostile)])

    table = cli("items").out
    assert "\u202e" not in table and "\x1b" not in table
    assert "[bold red]fake[/]" in table

    rows = list(csv.DictReader(io.StringIO(cli("items", "--format", "csv").out)))
    assert rows[0]["text"].startswith("'=HYPERLINK")
    ndjson = [json.loads(line) for line in cli("items", "--format", "ndjson").out.splitlines()]
    assert ndjson[0]["text"] == hostile


def test_bad_query_input_is_one_line_and_exit_2(cli: Cli) -> None:
    _one_error_line(bad := cli("items", "--since", "yesterday"))
    assert bad.code == 2
    assert cli("items", "--format", "xml").code == 2


def test_crawl_once_reports_why_targets_could_not_run(cli: Cli) -> None:
    # Every crawlable kind has a collector now (web pages: tests/integration/test_spider_*).
    cli("watchlist", "add", "@example_news")
    cli("watchlist", "add", "t.me/+InviteOnly")
    result = cli("crawl", "--once")

    assert result.code == 0
    assert "no_account" in result.out
    assert "InviteOnly" not in result.out
    statuses = {t["locator"]: t["last_status"]
                for t in json.loads(cli("watchlist", "list", "--format", "json").out)}  # fmt: skip
    assert statuses == {
        "@example_news": "no_account",
        "https://t.me/+InviteOnly": None,
    }
    assert cli("crawl", "--once", "--target", "@not_watched").code == 2


def test_unknown_setting_is_one_line_naming_it(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[media]\nmax_bites = 5\n", encoding="utf-8")
    result = cli("--config", str(tmp_path / "bad.toml"), "watchlist", "list")
    assert result.code == 2
    assert "media.max_bites" in _one_error_line(result)


def test_init_writes_settings_from_the_example_and_migrates_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    assert run(["watchlist", "list"]) == 2  # no schema yet: a clear error, not a traceback
    assert run(["init"]) == 0
    settings = (tmp_path / "chanwatch.toml").read_text(encoding="utf-8")
    assert (tmp_path / "chanwatch.db").is_file()
    assert run(["init"]) == 0
    assert (tmp_path / "chanwatch.toml").read_text(encoding="utf-8") == settings
    assert run(["watchlist", "add", "@example_news"]) == 0


def test_a_postgres_database_with_a_c_ctype_is_refused_with_one_line(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    url = make_url(postgres_url)
    name = f"{url.database}_c"
    admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LC_CTYPE 'C' LC_COLLATE 'C'")
        )
    try:
        monkeypatch.setenv("CHANWATCH_DATABASE_URL", url.set(database=name).render_as_string(False))
        monkeypatch.chdir(tmp_path)
        assert run(["db", "upgrade"]) == 2
        assert "UTF-8 ctype" in capsys.readouterr().err
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
