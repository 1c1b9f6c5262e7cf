"""`chanwatch alerts …`: the review queue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from crawler.access import Permission, authorize, can
from crawler.cli.context import app_context
from crawler.cli.output import (
    json_text,
    print_csv,
    print_json,
    print_table,
    terminal_safe,
    utc_time,
)
from crawler.errors import UserError
from crawler.matching import workflow
from crawler.matching.alerts import Kind
from storage import alert_store

app = typer.Typer(
    help="List, show, claim, release, assign and decide alerts.", no_args_is_help=True
)


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ShowFormat(StrEnum):
    table = "table"
    json = "json"


class Status(StrEnum):
    new = "new"
    in_review = "in_review"
    confirmed = "confirmed"
    dismissed = "dismissed"
    escalated = "escalated"


class KindChoice(StrEnum):
    keyword = Kind.KEYWORD.value
    hash_match = Kind.HASH_MATCH.value
    discovery = Kind.DISCOVERY.value
    source_change = Kind.SOURCE_CHANGE.value
    page_change = Kind.PAGE_CHANGE.value
    activity_spike = Kind.ACTIVITY_SPIKE.value
    operational = Kind.OPERATIONAL.value


def subject_text(subject: dict[str, Any]) -> str:
    """One line naming what an alert is about; hostile parts are neutralized by the caller."""
    if "channel" in subject:
        return str(subject["channel"])
    parts = [subject.get("source") or ""]
    if subject.get("platform_id") is not None:
        parts.append(str(subject["platform_id"]))
    return " ".join(part for part in parts if part) or "-"


def _summary(evidence: dict[str, Any]) -> str:
    """The evidence in a few words for the queue view; `alerts show` has all of it."""
    if "rule" in evidence:
        # The matched text first: it is what a narrow column must still show.
        hits = evidence.get("hits") or [{}]
        more = f", +{evidence['hit_count'] - 1}" if evidence.get("hit_count", 1) > 1 else ""
        return f"{hits[0].get('matched_text')} ({evidence['rule']}, {hits[0].get('form')}{more})"
    if "bank" in evidence:
        turned = evidence.get("orientation")
        return (f"{evidence['bank']}/{evidence.get('label') or evidence['entry_id']} "
                f"{evidence['signal_type']} d={evidence['distance']}"
                + (f" {turned}" if turned and turned != "original" else ""))  # fmt: skip
    if evidence.get("change") == "username_reused":
        return f"username re-used (was source {evidence.get('previous_source_id')})"
    if "change" in evidence:
        return f"{evidence['change']}: {evidence.get('before')} → {evidence.get('after')}"
    if "items" in evidence:
        via = ", ".join(f"{kind} {count}" for kind, count in (evidence.get("via") or {}).items())
        return f"{evidence['items']} watched items point here ({via})"
    if "posts_last_hour" in evidence:
        return (f"{evidence['posts_last_hour']} posts in an hour "
                f"(baseline {evidence.get('baseline_per_hour')}/h)")  # fmt: skip
    if "problem" in evidence:
        return f"{evidence['problem']}: {evidence.get('locator')} ({evidence.get('last_status')})"
    if "version" in evidence:
        return f"version {evidence['version']}"
    return ", ".join(f"{k}={v}" for k, v in evidence.items())


# Evidence keys whose plain spelling ("entry_id" → "entry id") would not say what they hold.
_LABELS = {
    "hit_count": "hits in text", "hits": "hit", "entry_id": "entry", "signal_type": "signal",
    "media_ordinal": "media #", "items": "referencing items", "recent_item_ids": "recent items",
    "previous_source_id": "previous source", "kind": "target kind", "interval_s": "interval (s)",
}  # fmt: skip
# Reading order for the keys the matchers write; PostgreSQL's jsonb keeps no order of its own.
# Keys not named here follow, alphabetically.
_ORDER = (
    "rule", "field", "term", "form", "matched_text", "start", "end", "severity", "hit_count",
    "hits", "bank", "entry_id", "label", "signal_type", "distance", "quality", "orientation",
    "media_ordinal", "media_hash", "change", "before", "after", "previous_source_id", "title",
    "channel", "items", "via", "recent_item_ids", "url", "version", "posts_last_hour",
    "baseline_per_hour", "baseline_hours", "factor", "hour_end", "problem", "target_id",
    "locator", "kind", "last_status", "last_run_at", "last_success_at", "interval_s",
)  # fmt: skip
_RANK = {key: rank for rank, key in enumerate(_ORDER)}
_LABEL_WIDTH = 21
_TIME_KEYS = ("_at", "hour_end")


def _value(key: str, value: object) -> str:
    if value is None:
        return "(none)"
    if value == "":
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(terminal_safe(v, 100) for v in value) or "(none)"
    if isinstance(value, str) and key.endswith(_TIME_KEYS):
        return utc_time(value) + " UTC"
    return terminal_safe(value, 500)


def _line(depth: int, label: str, value: str = "") -> str:
    name = terminal_safe(label, 40) + ":"
    return f"{'  ' * depth}{name:<{_LABEL_WIDTH - 2 * depth}} {value}".rstrip()


def evidence_lines(evidence: dict[str, Any], depth: int = 1) -> list[str]:
    """Labelled lines, one per key, nested mappings and lists of mappings indented below their
    key. Keys come from the matchers, values from collected text: both are neutralized."""
    lines = []
    for key in sorted(evidence, key=lambda k: (_RANK.get(k, len(_RANK)), k)):
        value = evidence[key]
        label = _LABELS.get(key, key.replace("_", " "))
        if isinstance(value, dict):
            lines.append(_line(depth, label))
            lines.extend(evidence_lines(value, depth + 1))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for number, entry in enumerate(value, 1):
                lines.append(_line(depth, f"{label} {number}"))
                lines.extend(evidence_lines(entry, depth + 1))
        else:
            lines.append(_line(depth, label, _value(key, value)))
    return lines


def _username(subject: dict[str, Any]) -> str:
    """The Telegram handle without `@`, so a spreadsheet column of them needs no guard."""
    handle = subject.get("source") or subject.get("channel") or ""
    return handle[1:] if handle.startswith("@") else ""


CSV_COLUMNS = (
    "id", "kind", "severity", "priority", "status", "username", "source", "channel", "item_id",
    "platform_id", "url", "summary", "hit_count", "first_seen", "last_seen", "assignee",
    "evidence",
)  # fmt: skip


def _csv_row(record: dict[str, Any]) -> list[object]:
    subject = record["subject"]
    return [
        record["id"], record["kind"], record["severity"], record["priority"], record["status"],
        _username(subject), subject.get("source"), subject.get("channel"),
        subject.get("item_id"), subject.get("platform_id"), subject.get("url"),
        _summary(record["evidence"]), record["hit_count"], record["first_seen"],
        record["last_seen"], record["assignee"],
        json_text(record["evidence"], sort_keys=True),
    ]  # fmt: skip


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option()] = None,
    kind: Annotated[KindChoice | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Alerts, highest priority first."""
    with app_context(ctx).engine().connect() as conn:
        records = alert_store.list_alerts(
            conn, status=status.value if status else None,
            kind=kind.value if kind else None, limit=limit,
        )  # fmt: skip
    if output is ListFormat.json:
        print_json(records)
        return
    if output is ListFormat.csv:
        print_csv(CSV_COLUMNS, (_csv_row(r) for r in records))
        return
    # Fits 80 columns: what identifies, ranks and explains an alert; priority is the order,
    # hits, assignee and the rest are in `alerts show` and the json and csv formats.
    print_table(
        ["id", "last seen (UTC)", "kind", "severity", "status", "subject", "evidence"],
        [[r["id"], utc_time(r["last_seen"]), r["kind"], r["severity"], r["status"],
          subject_text(r["subject"]), _summary(r["evidence"])] for r in records],
        flexible=("subject", "evidence"), compact=True,
    )  # fmt: skip


@app.command("show")
def show(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID")],
    output: Annotated[ShowFormat, typer.Option("--format")] = ShowFormat.table,
) -> None:
    """One alert with its evidence, the item's text and its review history."""
    with app_context(ctx).engine().connect() as conn:
        record = alert_store.alert_detail(conn, alert_id)
    if record is None:
        raise UserError(f"no alert {alert_id}")
    if output is ShowFormat.json:
        print_json(record)
        return
    assignee = terminal_safe(record["assignee"] or "-", 200)
    if record["assignee"] is not None and record["lease_until"] is not None:
        assignee += f" (lease until {utc_time(record['lease_until'])} UTC)"
    lines = [
        _line(0, "alert", str(record["id"])),
        _line(0, "kind", record["kind"]),
        _line(0, "severity", record["severity"]),
        _line(0, "priority", f"{record['priority']:.3f}"),
        _line(0, "status", record["status"]),
        _line(0, "assignee", assignee),
        _line(0, "subject", terminal_safe(subject_text(record["subject"]), 500)),
        _line(0, "hits", str(record["hit_count"])),
        _line(0, "first seen", utc_time(record["first_seen"]) + " UTC"),
        _line(0, "last seen", utc_time(record["last_seen"]) + " UTC"),
        _line(0, "evidence"),
        *evidence_lines(record["evidence"]),
    ]
    if record.get("item_text") is not None:
        lines.append(_line(0, "text", terminal_safe(record["item_text"], 2000)))
    typer.echo("\n".join(lines))
    print_table(
        ["at (UTC)", "actor", "action", "from", "to", "reason"],
        [[utc_time(e["at"]), e["actor"], e["action"], e["from"] or "-", e["to"] or "-",
          e["reason"] or "-"] for e in record["events"]],
        title="history", flexible=("actor", "reason"), compact=True,
    )  # fmt: skip


_AS_HELP = "An enabled staff or admin user (see `chanwatch users add`)."


@contextmanager
def _flags() -> Iterator[None]:
    """Workflow refusals in the CLI's words: the option at fault as its flag."""
    try:
        yield
    except workflow.WorkflowError as exc:
        if exc.option is None:
            raise
        raise UserError(f"{exc} (--{exc.option})") from None


@app.command("claim")
def claim(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID")],
    user: Annotated[str, typer.Option("--as", help=_AS_HELP)],
) -> None:
    """Take the alert for review (a lease of alerts.claim_lease_s; claim again to renew)."""
    root = app_context(ctx)
    with _flags(), root.engine().begin() as conn:
        authorize(conn, user, Permission.REVIEW_ALERTS)
        alert = workflow.claim(
            conn, alert_id, user, datetime.now(UTC), root.settings.alerts.claim_lease_s
        )
    typer.echo(f"alert {alert_id} claimed by {terminal_safe(alert['assignee'])} "
               f"until {alert['lease_until'].isoformat()}")  # fmt: skip


@app.command("release")
def release(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID")],
    user: Annotated[str, typer.Option("--as", help=_AS_HELP)],
) -> None:
    """Give a claimed alert back to the queue (your own claim; an admin: anyone's)."""
    root = app_context(ctx)
    with _flags(), root.engine().begin() as conn:
        reviewer = authorize(conn, user, Permission.REVIEW_ALERTS)
        status = workflow.release(
            conn, alert_id, user, datetime.now(UTC),
            any_holder=can(reviewer["role"], Permission.ASSIGN_ALERTS),
        )  # fmt: skip
    typer.echo(f"alert {alert_id} {status}")


@app.command("assign")
def assign(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID")],
    assignee: Annotated[str, typer.Argument(metavar="USER", help="A staff or admin user.")],
    user: Annotated[str, typer.Option("--as", help="An enabled admin user.")],
) -> None:
    """Give an alert's review lease to another reviewer, whoever holds it now (admin)."""
    root = app_context(ctx)
    with _flags(), root.engine().begin() as conn:
        authorize(conn, user, Permission.ASSIGN_ALERTS)
        authorize(conn, assignee, Permission.REVIEW_ALERTS)
        alert = workflow.assign(
            conn, alert_id, assignee, user, datetime.now(UTC),
            root.settings.alerts.claim_lease_s,
        )  # fmt: skip
    typer.echo(f"alert {alert_id} assigned to {terminal_safe(alert['assignee'])} "
               f"until {alert['lease_until'].isoformat()}")  # fmt: skip


@app.command("decide")
def decide(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID")],
    decision: Annotated[workflow.Decision, typer.Argument()],
    user: Annotated[str, typer.Option("--as", help=_AS_HELP)],
    reason: Annotated[str | None, typer.Option(help="Required to dismiss.")] = None,
    negative_bank: Annotated[
        str | None,
        typer.Option(help="Dismissing a hash match: add the hash to this negative bank "
                          "(an existing one; an admin may name a new one)."),
    ] = None,
) -> None:
    """Confirm, dismiss or escalate an alert."""
    root = app_context(ctx)
    with _flags(), root.engine().begin() as conn:
        reviewer = authorize(conn, user, Permission.REVIEW_ALERTS)
        status = workflow.decide(
            conn, alert_id, decision, user, datetime.now(UTC), reason=reason,
            negative_bank=negative_bank, lease_s=root.settings.alerts.claim_lease_s,
            may_create_bank=can(reviewer["role"], Permission.MANAGE_BANKS),
        )  # fmt: skip
    typer.echo(f"alert {alert_id} {status}")


@app.command("notify")
def deliver(ctx: typer.Context) -> None:
    """Send queued notifications now (crawls do this after every pass)."""
    from crawler.matching import notify  # its HTTP client is this command's alone

    root = app_context(ctx)
    counts = notify.deliver_pending(root.engine(), root.settings)
    typer.echo(f"{counts.delivered} delivered, {counts.failed} failed (kept for retry)")
    if counts.failed:
        raise typer.Exit(1)
