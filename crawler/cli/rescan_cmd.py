"""`chanwatch rescan`: run banks and rules over what was already collected (a retro-hunt)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy import Engine

from crawler.cli.context import app_context
from crawler.errors import UserError
from crawler.matching.rescan import RescanReport, rescan
from crawler.settings import Settings

KINDS = ("hash_match", "keyword")


def rescan_command(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only what was collected at or after (ISO 8601).")
    ] = None,
    bank: Annotated[str | None, typer.Option("--bank", help="Only this bank's hashes.")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Processes for texts, threads for PDQ (default: cores)."),
    ] = None,
) -> None:
    """Match stored media and texts (every version, deleted items too) against the banks and
    rules; raise the alerts the live matchers would have, with one summary notification."""
    root = app_context(ctx)
    run_and_print(
        root.engine(), root.settings, since=_since(since), bank=bank,
        rules=None if rule is None else [rule], workers=workers,
    )  # fmt: skip


def run_and_print(
    engine: Engine,
    settings: Settings,
    *,
    since: datetime | None = None,
    bank: str | None = None,
    rules: Sequence[str] | None = None,
    workers: int | None = None,
) -> RescanReport:
    """Rescan and print the counts (also the end of `banks import --rescan`, `rules import`)."""
    report = rescan(engine, settings, since=since, bank=bank, rules=rules, workers=workers)
    typer.echo(
        f"rescanned {report.media_scanned} media, {report.texts_scanned} texts "
        f"({report.text_bytes / 1e6:.1f} MB)"
    )
    for kind in KINDS:
        typer.echo(f"{kind}: {report.new[kind]} new, {report.repeated[kind]} repeated")
    if report.notified:
        typer.echo(f"summary notification queued for {report.notified} destination(s)")
    return report


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"--since: not an ISO 8601 date or time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
