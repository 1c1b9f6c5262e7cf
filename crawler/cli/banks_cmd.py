"""`chanwatch banks …`: hash lists of known abuse material (and of known false positives)."""

from __future__ import annotations

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
from crawler.input_limits import MAX_BANK_BYTES
from crawler.matching.banks import BankFileError, import_bank, parse_bank_file
from storage import bank_store

app = typer.Typer(help="Import, list, enable and disable hash banks.", no_args_is_help=True)


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ListFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("import")
def import_file(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV (signal_type,value[,label]) or JSON lines.")],
    bank: Annotated[str, typer.Option("--bank", help="Bank to add to (created if missing).")],
    negative: Annotated[
        bool, typer.Option("--negative", help="Known false positives: suppress matches.")
    ] = False,
    pdq_threshold: Annotated[
        int | None, typer.Option(min=0, max=256, help="PDQ match distance (new banks: 31).")
    ] = None,
    severity: Annotated[Severity | None, typer.Option(help="Severity of its alerts.")] = None,
    rescan: Annotated[
        bool, typer.Option("--rescan", help="Then match the bank against what was collected.")
    ] = False,
) -> None:
    """Import a bank file atomically; withdrawn or deleted records remove their hash."""
    root = app_context(ctx)
    try:
        records = parse_bank_file(read_text_file(path, MAX_BANK_BYTES), path.name)
    except BankFileError as exc:
        raise UserError(f"{path}: {exc}") from None
    with root.engine().begin() as conn:
        counts = import_bank(
            conn, records, bank=bank, negative=negative, threshold=pdq_threshold,
            severity=severity.value if severity else None, at=datetime.now(UTC),
        )  # fmt: skip
        audit.record(conn, audit.Action.BANK_IMPORT, f"bank {bank}", {"file": path.name})
    typer.echo(f"bank {bank}: {counts.added} hash(es) active, {counts.withdrawn} withdrawn")
    if rescan:
        run_and_print(root.engine(), root.settings, bank=bank)


@app.command("list")
def list_banks(
    ctx: typer.Context,
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Banks with their entry counts."""
    with app_context(ctx).engine().connect() as conn:
        banks = bank_store.list_banks(conn)
    if output is ListFormat.json:
        print_json(banks)
        return
    print_table(
        ["bank", "negative", "enabled", "pdq threshold", "severity", "active", "withdrawn"],
        [[b["name"], b["negative"], b["enabled"], b["pdq_threshold"], b["severity"],
          b["active"], b["withdrawn"]] for b in banks],
    )  # fmt: skip


@app.command("enable")
def enable(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Match a disabled bank's entries again."""
    _set_enabled(ctx, name, True)


@app.command("disable")
def disable(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Stop matching a bank's entries (they are kept; `banks import` re-enables nothing)."""
    _set_enabled(ctx, name, False)


def _set_enabled(ctx: typer.Context, name: str, enabled: bool) -> None:
    with app_context(ctx).engine().begin() as conn:
        if not bank_store.set_bank_enabled(conn, name, enabled):
            raise UserError(f"no bank named {name!r}")
        switch = audit.Action.BANK_ENABLE if enabled else audit.Action.BANK_DISABLE
        audit.record(conn, switch, f"bank {name}")
    typer.echo(f"bank {name} {'enabled' if enabled else 'disabled'}")
