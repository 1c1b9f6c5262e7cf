"""`banks enable` brings a disabled bank back into matching; `rules test` says when no rule
looked at the text. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from tests.factories import photo, post
from tests.integration.alert_helpers import Pipeline, alerts
from tests.integration.cli_runner import Cli, Result

SHA = "5e" * 32


def _error(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1, result
    assert lines[0].startswith("chanwatch: error: ")
    return lines[0]


def test_an_enabled_bank_matches_again_in_a_running_matcher(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "known.csv").write_text(f"sha256,{SHA},case-1\n", encoding="utf-8")
    assert cli("banks", "import", "known.csv", "--bank", "known").code == 0
    pipeline = Pipeline(engine)

    assert cli("banks", "disable", "known").out == "bank known disabled\n"
    pipeline.ingest([post(1, media=(photo(SHA),))])
    assert alerts(engine) == []
    (listed,) = json.loads(cli("banks", "list", "--format", "json").out)
    assert listed["enabled"] is False

    enabled = cli("banks", "enable", "known")
    assert (enabled.code, enabled.out) == (0, "bank known enabled\n")
    pipeline.ingest([post(2, media=(photo(SHA),))])
    assert [(a["kind"], a["subject"]["platform_id"]) for a in alerts(engine)] == [
        ("hash_match", "2")
    ]
    (listed,) = json.loads(cli("banks", "list", "--format", "json").out)
    assert listed["enabled"] is True


def test_enabling_an_unknown_bank_is_one_line_and_exit_2(cli: Cli) -> None:
    assert _error(cli("banks", "enable", "nope")) == "chanwatch: error: no bank named 'nope'"
    assert json.loads(cli("banks", "list", "--format", "json").out) == []


def test_rules_test_without_rules_says_so_on_stderr_and_still_succeeds(cli: Cli) -> None:
    result = cli("rules", "test", "지인능욕 방", "--format", "json")

    assert result.code == 0
    assert json.loads(result.out) == []
    assert result.err == "no rules loaded: import some with `chanwatch rules import FILE`\n"
    assert cli("rules", "test", "지인능욕 방").err == result.err  # the table says it too


def test_rules_test_with_an_empty_rules_file_names_the_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("rules: []\n", encoding="utf-8")
    result = cli("rules", "test", "text", "--file", "empty.yaml", "--format", "json")
    assert (result.code, json.loads(result.out), result.err) == (0, [], "no rules in empty.yaml\n")


def test_rules_test_with_rules_loaded_is_quiet_on_stderr(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - name: rooms\n    terms: [지인능욕]\n", encoding="utf-8"
    )
    assert cli("rules", "import", "rules.yaml").code == 0
    result = cli("rules", "test", "자연노을 사진", "--format", "json")
    assert (result.code, json.loads(result.out), result.err) == (0, [], "")


def test_a_rule_imported_with_slip_keeps_it_and_catches_a_one_jamo_slip(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - name: rooms\n    severity: high\n    slip: true\n    terms: [지인능욕]\n",
        encoding="utf-8",
    )
    assert cli("rules", "import", str(tmp_path / "rules.yaml")).code == 0
    (listed,) = json.loads(cli("rules", "list", "--format", "json").out)
    assert listed["slip"] is True

    Pipeline(engine).ingest([post(1, "지잉능욕 방")])

    (alert,) = alerts(engine)
    (hit,) = alert["evidence"]["hits"]
    assert (hit["form"], hit["severity"], alert["severity"]) == ("jamo_slip", "medium", "medium")
