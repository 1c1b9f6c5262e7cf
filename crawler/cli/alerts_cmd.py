"""`chanwatch alerts …`: the review queue."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from crawler.cli.context import app_context
from crawler.cli.output import print_json, print_table, terminal_safe
from crawler.errors import UserError
from crawler.matching import notify, workflow
from crawler.matching.alerts import Kind
from storage import alert_store

app = typer.Typer(help="List, show, claim and decide alerts.", no_args_is_help=True)


class ListFormat(StrEnum):
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
    if "rule" in evidence:
        hits = evidence.get("hits") or [{}]
        return f"{evidence['rule']} ({hits[0].get('form')}): {hits[0].get('matched_text')}"
    if "bank" in evidence:
        return (f"{evidence['bank']}/{evidence.get('label') or evidence['entry_id']} "
                f"{evidence['signal_type']} d={evidence['distance']}")  # fmt: skip
    if "change" in evidence:
        return f"{evidence['change']}: {evidence.get('before')} → {evidence.get('after')}"
    if "items" in evidence:
        return f"referenced by {evidence['items']} watched items {evidence.get('via')}"
    return ", ".join(f"{k}={v}" for k, v in evidence.items())


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
    print_table(
        ["id", "kind", "severity", "priority", "status", "subject", "evidence", "hits",
         "last seen", "assignee"],
        [[r["id"], r["kind"], r["severity"], r["priority"], r["status"],
          subject_text(r["subject"]), _summary(r["evidence"]), r["hit_count"], r["last_seen"],
          r["assignee"] or "-"] for r in records],
    )  # fmt: skip


@app.command("show")
def show(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID")],
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """One alert with its evidence, the item's text and its review history."""
    with app_context(ctx).engine().connect() as conn:
        record = alert_store.alert_detail(conn, alert_id)
    if record is None:
        raise UserError(f"no alert {alert_id}")
    if output is ListFormat.json:
        print_json(record)
        return
    fields = ("id", "kind", "severity", "priority", "status", "hit_count", "first_seen",
              "last_seen", "assignee", "lease_until")  # fmt: skip
    for name in fields:
        typer.echo(f"{name}: {terminal_safe(record[name])}")
    typer.echo(f"subject: {terminal_safe(subject_text(record['subject']))}")
    for name, value in record["evidence"].items():
        typer.echo(f"evidence.{name}: {terminal_safe(value, 500)}")
    if record.get("item_text") is not None:
        typer.echo(f"text: {terminal_safe(record['item_text'], 2000)}")
    print_table(
        ["at", "actor", "action", "from", "to", "reason"],
        [[e["at"], e["actor"], e["action"], e["from"] or "-", e["to"] or "-", e["reason"] or "-"]
         for e in record["events"]],
    )  # fmt: skip


@app.command("claim")
def claim(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID")],
    user: Annotated[str, typer.Option("--as", help="Reviewer name.")],
) -> None:
    """Take the alert for review (a lease of alerts.claim_lease_s; claim again to renew)."""
    root = app_context(ctx)
    with root.engine().begin() as conn:
        alert = workflow.claim(
            conn, alert_id, user, datetime.now(UTC), root.settings.alerts.claim_lease_s
        )
    typer.echo(f"alert {alert_id} claimed by {terminal_safe(alert['assignee'])} "
               f"until {alert['lease_until'].isoformat()}")  # fmt: skip


@app.command("decide")
def decide(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID")],
    decision: Annotated[workflow.Decision, typer.Argument()],
    user: Annotated[str, typer.Option("--as", help="Reviewer name.")],
    reason: Annotated[str | None, typer.Option(help="Required to dismiss high/critical.")] = None,
    negative_bank: Annotated[
        str | None,
        typer.Option(help="Dismissing a hash match: add the hash to this negative bank."),
    ] = None,
) -> None:
    """Confirm, dismiss or escalate an alert."""
    root = app_context(ctx)
    with root.engine().begin() as conn:
        status = workflow.decide(
            conn, alert_id, decision, user, datetime.now(UTC), reason=reason,
            negative_bank=negative_bank, lease_s=root.settings.alerts.claim_lease_s,
        )  # fmt: skip
    typer.echo(f"alert {alert_id} {status}")


@app.command("notify")
def deliver(ctx: typer.Context) -> None:
    """Send queued notifications now (crawls do this after every pass)."""
    root = app_context(ctx)
    counts = notify.deliver_pending(root.engine(), root.settings)
    typer.echo(f"{counts.delivered} delivered, {counts.failed} failed (kept for retry)")
    if counts.failed:
        raise typer.Exit(1)
