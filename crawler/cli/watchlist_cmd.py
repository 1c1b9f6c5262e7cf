"""`chanwatch watchlist …`: what staff ask chanwatch to watch."""

from __future__ import annotations

import getpass
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from crawler import audit
from crawler.cli.cli_files import naming, read_text_file
from crawler.cli.context import app_context
from crawler.cli.output import print_csv, print_json, print_table
from crawler.errors import UserError
from crawler.input_limits import MAX_YAML_BYTES
from crawler.locators import Locator, TargetKind, normalize
from crawler.watchlist_export import export_yaml
from crawler.watchlist_targets import DEFAULT_LIST, checked_list_name, format_interval, target_spec
from crawler.watchlists import parse_watchlist_yaml
from storage import watchlist_store as store

app = typer.Typer(
    help="Add, remove, enable, disable, list, import and export watched targets.",
    no_args_is_help=True,
)


class KindChoice(StrEnum):
    telegram = "telegram"
    tme_preview = "tme_preview"
    web_page = "web_page"


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


# `username` is the channel name without its `@`: a spreadsheet reads a cell starting with `@`
# as a formula, so print_csv guards the locator with a quote, and this column needs none.
CSV_COLUMNS = (
    "watchlist", "kind", "locator", "username", "interval", "tags", "priority", "enabled",
    "last_status", "last_run_at", "note",
)  # fmt: skip


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@app.command("add")
def add(
    ctx: typer.Context,
    locator: Annotated[str, typer.Argument(help="@name, t.me link, t.me/s/ link or http(s) URL.")],
    list_name: Annotated[str, typer.Option("--list", help="Watchlist name.")] = DEFAULT_LIST,
    kind: Annotated[KindChoice | None, typer.Option(help="Override the inferred kind.")] = None,
    interval: Annotated[str, typer.Option(help="How often to crawl: 90s, 30m, 6h, 1d.")] = "1h",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Repeatable.")] = None,
    note: Annotated[str | None, typer.Option(help="Free text for reviewers.")] = None,
) -> None:
    """Watch LOCATOR. Adding what is already watched changes nothing."""
    root = app_context(ctx)
    list_name = checked_list_name(list_name)
    spec = target_spec(
        locator,
        kind=kind.value if kind else None,
        interval=interval,
        tags=tag or [],
        note=note,
        allow_private=root.settings.net.allow_private_hosts,
    )
    with root.engine().begin() as conn:
        added = store.add_target(conn, list_name, spec, added_by=_actor(), at=datetime.now(UTC))
        if added:
            audit.record(conn, audit.Action.WATCHLIST_ADD, spec.locator, {"list": list_name})
    where = f"{spec.kind} {spec.locator} in list {list_name!r}"
    if spec.kind == "telegram_invite":
        where += " (invite links are recorded for staff, never crawled: that would mean joining)"
    typer.echo(f"added {where}" if added else f"already watched: {where}")


@app.command("remove")
def remove(
    ctx: typer.Context,
    locator: Annotated[str, typer.Argument()],
    list_name: Annotated[str | None, typer.Option("--list", help="Only from this list.")] = None,
    kind: Annotated[KindChoice | None, typer.Option(help="Only this kind.")] = None,
) -> None:
    """Stop watching LOCATOR (in every list unless --list is given)."""
    root = app_context(ctx)
    normalized = _named(root.settings.net.allow_private_hosts, locator, list_name)
    with root.engine().begin() as conn:
        removed = store.remove_targets(
            conn, normalized.value, list_name=list_name, kind=kind.value if kind else None
        )
        if removed:
            audit.record(conn, audit.Action.WATCHLIST_REMOVE, normalized.value, {"list": list_name})
    if not removed:
        raise UserError(f"not watched: {normalized.value}")
    typer.echo(f"removed {_count(removed)} for {normalized.value}")


@app.command("enable")
def enable(
    ctx: typer.Context,
    locator: Annotated[str, typer.Argument()],
    list_name: Annotated[str | None, typer.Option("--list", help="Only in this list.")] = None,
    kind: Annotated[KindChoice | None, typer.Option(help="Only this kind.")] = None,
) -> None:
    """Crawl LOCATOR again (in every list unless --list is given)."""
    _set_enabled(ctx, locator, True, list_name, kind)


@app.command("disable")
def disable(
    ctx: typer.Context,
    locator: Annotated[str, typer.Argument()],
    list_name: Annotated[str | None, typer.Option("--list", help="Only in this list.")] = None,
    kind: Annotated[KindChoice | None, typer.Option(help="Only this kind.")] = None,
) -> None:
    """Stop crawling LOCATOR but keep it, its history and its settings on the watchlist."""
    _set_enabled(ctx, locator, False, list_name, kind)


def _set_enabled(
    ctx: typer.Context,
    locator: str,
    enabled: bool,
    list_name: str | None,
    kind: KindChoice | None,
) -> None:
    root = app_context(ctx)
    normalized = _named(root.settings.net.allow_private_hosts, locator, list_name)
    with root.engine().begin() as conn:
        changed = store.set_targets_enabled(
            conn, normalized.value, enabled, list_name=list_name, kind=kind.value if kind else None
        )
        if changed:
            audit.record(
                conn, audit.Action.WATCHLIST_ENABLE if enabled else audit.Action.WATCHLIST_DISABLE,
                normalized.value, {"list": list_name},
            )  # fmt: skip
    if not changed:
        raise UserError(f"not watched: {normalized.value}")
    state = "enabled" if enabled else "disabled"
    typer.echo(f"{state} {_count(changed)} for {normalized.value}")


def _named(allow_private: tuple[str, ...], locator: str, list_name: str | None) -> Locator:
    """The canonical locator that `remove`, `enable` and `disable` look targets up by."""
    if list_name is not None:
        checked_list_name(list_name)
    return normalize(locator, None, allow_private)


def _count(targets: int) -> str:
    return f"{targets} target{'s' if targets != 1 else ''}"


@app.command("list")
def list_targets(
    ctx: typer.Context,
    list_name: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Show watched targets with their canonical locators, whether enabled, and last status."""
    if list_name is not None:
        checked_list_name(list_name)
    with app_context(ctx).engine().connect() as conn:
        rows = store.list_targets(conn, list_name=list_name)
    if output is ListFormat.json:
        print_json([_target_json(row) for row in rows])
        return
    if output is ListFormat.csv:
        print_csv(CSV_COLUMNS, [_target_csv(row) for row in rows])
        return
    print_table(
        ["list", "kind", "locator", "interval", "tags", "enabled", "last status", "note"],
        [
            [r.watchlist, r.kind, r.locator, format_interval(r.interval_s), ",".join(r.tags),
             "yes" if r.enabled else "no", r.last_status or "-", r.note or ""]
            for r in rows
        ],
    )  # fmt: skip


def _target_json(row: store.TargetRow) -> dict[str, object]:
    data = asdict(row)
    data["interval"] = format_interval(row.interval_s)
    for key in ("added_at", "next_due_at", "last_run_at"):
        data[key] = _iso(data[key])
    return data


def _target_csv(row: store.TargetRow) -> list[object]:
    channel = row.kind in (TargetKind.TELEGRAM, TargetKind.TME_PREVIEW)
    return [
        row.watchlist, row.kind, row.locator, row.locator.removeprefix("@") if channel else "",
        format_interval(row.interval_s), ",".join(row.tags), row.priority,
        "true" if row.enabled else "false", row.last_status or "", _iso(row.last_run_at) or "",
        row.note or "",
    ]  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@app.command("import")
def import_file(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A watchlist YAML file.")],
) -> None:
    """Import a watchlist file atomically: one bad entry and nothing is imported."""
    root = app_context(ctx)
    with naming(path):
        text = read_text_file(path, MAX_YAML_BYTES)
        entries = parse_watchlist_yaml(text, root.settings.net.allow_private_hosts)
    now, actor = datetime.now(UTC), _actor()
    added = 0
    with root.engine().begin() as conn:
        for entry in entries:
            added += store.add_target(
                conn, entry.list_name, entry.spec, added_by=actor, at=now,
                description=entry.description,
            )  # fmt: skip
        audit.record(conn, audit.Action.WATCHLIST_IMPORT, path.name, {"added": added})
    typer.echo(f"imported {added} new target(s), {len(entries) - added} already watched")


@app.command("export")
def export(
    ctx: typer.Context,
    list_name: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
) -> None:
    """Print watchlists as YAML that `watchlist import` reads back."""
    if list_name is not None:
        checked_list_name(list_name)
    with app_context(ctx).engine().connect() as conn:
        rows = store.list_targets(conn, list_name=list_name)
        descriptions = {name: desc for name, desc, _count in store.list_names(conn)}
    sys.stdout.write(export_yaml(rows, descriptions))
