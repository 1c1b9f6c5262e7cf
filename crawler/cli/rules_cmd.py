"""`chanwatch rules …`: keyword rules, matched through spacing, look-alike, jamo and
initial-consonant evasions (crawler.matching.keywords)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from crawler import audit
from crawler.cli.cli_files import read_text_file
from crawler.cli.context import app_context
from crawler.cli.output import print_json, print_table
from crawler.cli.rescan_cmd import run_and_print
from crawler.errors import UserError
from crawler.input_limits import MAX_YAML_BYTES
from crawler.matching.caches import rule_from_row, rule_to_row
from crawler.matching.keywords import Rule, RuleError, compile_rules, load_rules_yaml
from storage import bank_store

app = typer.Typer(help="Import, list and try keyword rules.", no_args_is_help=True)


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def _load_file(path: Path) -> list[Rule]:
    try:
        return load_rules_yaml(read_text_file(path, MAX_YAML_BYTES))
    except RuleError as exc:
        raise UserError(f"{path}: {exc}") from None


@app.command("import")
def import_file(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A rules YAML file.")],
    rescan: Annotated[
        bool, typer.Option("--rescan", help="Then match its rules against what was collected.")
    ] = False,
) -> None:
    """Import (or replace, by name) every rule of a file; one bad rule and nothing is imported."""
    rules = _load_file(path)
    try:
        compile_rules(rules)  # what the matchers will do with them, checked before storing
    except RuleError as exc:
        raise UserError(f"{path}: {exc}") from None
    with app_context(ctx).engine().begin() as conn:
        count = bank_store.upsert_rules(conn, [rule_to_row(r) for r in rules], datetime.now(UTC))
        audit.record(conn, audit.Action.RULES_IMPORT, path.name, {"rules": [r.name for r in rules]})
    typer.echo(f"imported {count} rule(s)")
    if rescan:
        root = app_context(ctx)
        run_and_print(root.engine(), root.settings, rules=[rule.name for rule in rules])


@app.command("list")
def list_rules(
    ctx: typer.Context,
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Stored rules."""
    with app_context(ctx).engine().connect() as conn:
        rows = bank_store.load_rules(conn, enabled_only=False)
    records = [{**rule_to_row(rule_from_row(row)), "enabled": bool(row["enabled"])} for row in rows]
    if output is ListFormat.json:
        print_json(records)
        return
    print_table(
        ["rule", "severity", "language", "terms", "regexes", "allowlist", "slip", "enabled"],
        [[r["name"], r["severity"], r["language"] or "-", ", ".join(r["terms"]),
          len(r["regexes"]), len(r["allowlist"]), r["slip"], r["enabled"]] for r in records],
    )  # fmt: skip


@app.command("test")
def test_text(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Text to scan.")],
    file: Annotated[
        Path | None, typer.Option("--file", help="Use this rules YAML instead of the database.")
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Show every hit of the rules in TEXT: rule, form and the span of the text it covers.

    Spans are character offsets into TEXT as given."""
    if file is not None:
        rules = _load_file(file)
    else:
        with app_context(ctx).engine().connect() as conn:
            rules = [rule_from_row(row) for row in bank_store.load_rules(conn)]
    if not rules:
        # An empty result would read as "the text is clean": say that no rule looked at it.
        if file is not None:
            typer.echo(f"no rules in {file}", err=True)
        else:
            typer.echo("no rules loaded: import some with `chanwatch rules import FILE`", err=True)
    hits = compile_rules(rules).scan(text) if rules else []
    records = [
        {key: str(value) if key in ("form", "severity") else value
         for key, value in asdict(hit).items()}
        for hit in hits
    ]  # fmt: skip
    if output is ListFormat.json:
        print_json(records)
        return
    print_table(
        ["rule", "term", "form", "span", "matched text", "severity"],
        [[r["rule"], r["term"], r["form"], f"{r['start']}-{r['end']}", r["matched_text"],
          r["severity"]] for r in records],
    )  # fmt: skip
