"""Collected text that could drive or reorder a terminal never reaches stdout raw in JSON, NDJSON
or YAML output, and parsing that output gives the original text back exactly."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crawler.observations import ChannelSnapshot
from tests.factories import CHANNEL, T0, photo, post
from tests.integration.alert_helpers import Pipeline, load_bank, load_rules, watch
from tests.integration.cli_runner import Cli

# Every character the outputs must escape (NUL aside: PostgreSQL text cannot hold it), with
# the C0 controls that matter most to terminals, between ordinary and Korean text.
ESCAPED = (
    "\x7f" + "".join(map(chr, range(0x80, 0xA0)))
    + "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)  # fmt: skip
HOSTILE = "방\x1b]0;pwned\x07\x1b[2J\r" + ESCAPED + "끝"
# What must never appear raw on stdout: all of the above and every C0 control but LF.
RAW = re.compile("[" + re.escape("".join(chr(c) for c in range(0x20) if c != 0x0A) + ESCAPED) + "]")


def _clean(out: str) -> str:
    found = sorted({f"U+{ord(c):04X}" for c in RAW.findall(out)})
    assert not found, f"raw characters on stdout: {found}"
    return out


def test_items_json_and_ndjson_escape_every_control_and_give_the_text_back(
    cli: Cli, engine: Engine
) -> None:
    Pipeline(engine).ingest([post(1, HOSTILE)])

    (record,) = json.loads(_clean(cli("items", "--format", "json").out))
    assert record["text"] == HOSTILE
    lines = _clean(cli("items", "--format", "ndjson").out).splitlines()
    assert [json.loads(line)["text"] for line in lines] == [HOSTILE]


def test_watchlist_json_and_yaml_escape_notes_and_tags_and_export_imports_back(
    cli: Cli, tmp_path: Path
) -> None:
    tag = f"tag{HOSTILE}tag"  # tags are stripped at the edges, so the controls sit inside
    assert cli("watchlist", "add", "@example_news", "--tag", tag, "--note", HOSTILE).code == 0
    assert cli("watchlist", "add", "https://example.org/hub", "--note", ESCAPED).code == 0
    before = json.loads(_clean(cli("watchlist", "list", "--format", "json").out))
    assert {t["locator"]: (t["tags"], t["note"]) for t in before} == {
        "@example_news": ([tag], HOSTILE),
        "https://example.org/hub": ([], ESCAPED),
    }

    exported = _clean(cli("watchlist", "export").out)
    for target in before:
        assert cli("watchlist", "remove", target["locator"]).code == 0
    (tmp_path / "round.yaml").write_text(exported, encoding="utf-8")
    assert cli("watchlist", "import", str(tmp_path / "round.yaml")).code == 0
    after = json.loads(cli("watchlist", "list", "--format", "json").out)
    keys = ("watchlist", "kind", "locator", "tags", "note")
    assert [{k: t[k] for k in keys} for t in after] == [{k: t[k] for k in keys} for t in before]


def test_alert_json_escapes_item_text_and_channel_titles(cli: Cli, engine: Engine) -> None:
    watch(engine, "@example_news")
    load_rules(engine, "rules:\n  - name: rooms\n    severity: high\n    terms: [지인능욕]\n")
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="방 1")])
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title=HOSTILE)])
    pipeline.ingest([post(1, f"지인능욕 {HOSTILE}")])

    listed = json.loads(_clean(cli("alerts", "list", "--format", "json").out))
    renamed = next(a for a in listed if a["evidence"].get("change") == "title")
    assert renamed["evidence"]["after"] == HOSTILE
    keyword = next(a for a in listed if a["kind"] == "keyword")
    shown = json.loads(_clean(cli("alerts", "show", str(keyword["id"]), "--format", "json").out))
    assert shown["item_text"] == f"지인능욕 {HOSTILE}"


def test_rules_and_banks_json_escape_what_their_files_carried(cli: Cli, engine: Engine) -> None:
    allowed = f"지인능욕 {HOSTILE}"
    load_rules(  # a JSON string is a YAML double-quoted one, escapes and all
        engine,
        "rules:\n  - name: rooms\n    severity: high\n    terms: [지인능욕]\n"
        f"    allowlist: [{json.dumps(allowed)}]\n",
    )
    bank = f"bank {HOSTILE}"
    bank_file = io.StringIO()
    csv.writer(bank_file).writerow(["sha256", "ab" * 32, f"case {HOSTILE}"])
    load_bank(engine, bank_file.getvalue(), bank=bank)
    Pipeline(engine).ingest([post(1, media=(photo("ab" * 32),))])

    (rule,) = json.loads(_clean(cli("rules", "list", "--format", "json").out))
    assert allowed in rule["allowlist"]
    (listed,) = json.loads(_clean(cli("banks", "list", "--format", "json").out))
    assert listed["name"] == bank
    (alert,) = json.loads(_clean(cli("alerts", "list", "--format", "json").out))
    assert (alert["evidence"]["bank"], alert["evidence"]["label"]) == (bank, f"case {HOSTILE}")
    assert _clean(cli("rules", "test", allowed, "--format", "json").out)


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_an_empty_result_is_still_valid_output(cli: Cli, fmt: str) -> None:
    out = _clean(cli("items", "--format", fmt).out)
    assert [json.loads(line) for line in out.splitlines()] in ([[]], [])
