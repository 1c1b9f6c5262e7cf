"""Run the real `chanwatch` command in-process against a test database, capturing its output."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.cli.main import run


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> Cli:
    """`cli("watchlist", "list")` → Result, with no CHANWATCH_* settings but the database."""
    for var in [v for v in os.environ if v.startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


PASSWORD = "correct horse battery"
"""A password long enough for `chanwatch users add`."""


def with_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> io.StringIO:
    stdin = io.StringIO(text)
    monkeypatch.setattr(sys, "stdin", stdin)
    return stdin


def add_user(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, name: str, role: str, password: str = PASSWORD
) -> Result:
    """`chanwatch users add NAME --role ROLE` with the password on stdin, as a script would."""
    with_stdin(monkeypatch, password + "\n")
    return cli("users", "add", name, "--role", role)
