"""`chanwatch items`: the investigator's query over collected metadata."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from crawler.cli.context import app_context
from crawler.cli.output import (
    json_text,
    print_csv,
    print_json,
    print_ndjson,
    print_table,
    terminal_safe,
    utc_time,
)
from crawler.errors import UserError
from crawler.text import nfc
from storage.item_queries import ItemFilter, find_items

# `username` is the handle without `@`: a column a spreadsheet can sort and look up without a
# guard on every row. `source` keeps the shown form (`@room`, a host), guarded like any cell;
# `username` comes last so the columns before it keep their places.
CSV_COLUMNS = (
    "id", "source", "source_id", "platform_id", "url", "posted_at", "collected_at", "edited_at",
    "deleted_at", "edited", "views", "views_raw", "forwards", "text", "text_sha256", "versions",
    "reply_to", "grouped_id", "fwd_from", "media", "links", "username",
)  # fmt: skip


class ItemFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    ndjson = "ndjson"


# SHA-256 and PDQ are 64 hex digits, MD5 32: anything else can match nothing.
_DIGEST = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")


def _digest(value: str | None) -> str | None:
    if value is None:
        return None
    digest = value.strip().lower()
    if not _DIGEST.fullmatch(digest):
        shown = terminal_safe(value, 80)
        raise UserError(f"--hash: not a SHA-256 or PDQ (64 hex digits) or MD5 (32): {shown!r}")
    return digest


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"{option}: not an ISO 8601 date or time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def items(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="@username or site host.")] = None,
    since: Annotated[str | None, typer.Option(help="Posted at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Posted before (ISO 8601).")] = None,
    text: Annotated[str | None, typer.Option(help="Substring of the text (any length).")] = None,
    hash_: Annotated[
        str | None, typer.Option("--hash", help="SHA-256, MD5 or PDQ of any media (exact).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    output: Annotated[ItemFormat, typer.Option("--format")] = ItemFormat.table,
) -> None:
    """Query collected items, newest first."""
    filters = ItemFilter(
        source=source,
        since=_when(since, "--since"),
        until=_when(until, "--until"),
        text=nfc(text) if text else None,
        hash=_digest(hash_),
        limit=limit,
    )
    with app_context(ctx).engine().connect() as conn:
        records = find_items(conn, filters)
    if output is ItemFormat.json:
        print_json(records)
    elif output is ItemFormat.ndjson:
        print_ndjson(records)
    elif output is ItemFormat.csv:
        print_csv(CSV_COLUMNS, ([_cell(_csv_value(r, c)) for c in CSV_COLUMNS] for r in records))
    else:
        print_table(
            ["posted (UTC)", "source", "id", "views", "text", "media", "links"],
            [
                [utc_time(r["posted_at"]), r["source"], r["platform_id"],
                 r["views_raw"] or r["views"], r["text"], len(r["media"]), len(r["links"])]
                for r in records
            ],
        )  # fmt: skip


def _csv_value(record: dict[str, Any], column: str) -> Any:
    if column == "username":
        source = record["source"]
        return source[1:] if source.startswith("@") else ""
    return record[column]


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json_text(value)
    return value
