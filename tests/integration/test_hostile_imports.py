"""Hostile import files through the real CLI, on SQLite and PostgreSQL: one line on stderr naming
the file, the line and the problem, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.input_limits import MAX_BANK_BYTES
from tests.integration.cli_runner import Cli, Result

ALIAS_BOMB = 'l0: &l0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"\n' + "".join(
    f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10)
)


def _refused(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert (result.code, result.out, len(lines)) == (2, "", 1), result
    return lines[0]


def _nothing_stored(cli: Cli) -> None:
    for command in (("watchlist", "list"), ("rules", "list"), ("banks", "list")):
        assert json.loads(cli(*command, "--format", "json").out) == []


@pytest.mark.parametrize(
    ("command", "name", "text", "expected"),
    [
        (("watchlist", "import"), "bomb.yaml",
         ALIAS_BOMB.replace("l0:", "watchlists:\n  - name: a\n    targets: ['@durov']\nl0:", 1),
         "bomb.yaml: line 4: YAML anchors and aliases (& and *) are not allowed"),
        (("watchlist", "import"), "dup.yaml",
         "watchlists:\n  - name: a\n    targets:\n      - locator: '@durov'\n"
         "        locator: '@other'\n",
         "dup.yaml: line 5: key 'locator' appears twice"),
        (("rules", "import"), "deep.yaml", "rules:\n  - " + "[" * 20_000 + "\n",
         "deep.yaml: line 2: not valid YAML"),
        (("banks", "import", "--bank", "b"), "deep.jsonl",
         '{"signal_type": "sha256", "labels": ' + "[" * 40 + "]" * 40 + "}\n",
         "deep.jsonl: line 1: JSON nested deeper than 16 levels"),
    ],
)  # fmt: skip
def test_hostile_files_are_one_line_exit_2_and_nothing_written(
    cli: Cli, tmp_path: Path, command: tuple[str, ...], name: str, text: str, expected: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    line = _refused(cli(*command[:2], name, *command[2:]))
    assert line.startswith(f"chanwatch: error: {expected}"), line
    _nothing_stored(cli)


def test_an_oversized_file_is_refused_before_it_is_read_whole(cli: Cli, tmp_path: Path) -> None:
    with (tmp_path / "huge.csv").open("wb") as file:
        file.truncate(MAX_BANK_BYTES + 1)  # sparse: costs no disk and no time to write
    line = _refused(cli("banks", "import", "huge.csv", "--bank", "b"))
    assert line == "chanwatch: error: huge.csv: larger than 64 MiB, the limit for this file"
    _nothing_stored(cli)
