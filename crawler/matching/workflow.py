"""The review workflow: new → in_review → confirmed | dismissed | escalated.

A reviewer claims an alert (a lease: one reviewer at a time, expiring so an abandoned claim
frees itself), then decides. Dismissing a `high` or `critical` alert needs a reason; dismissing
a hash match can add the matched hash to a negative bank so it stops alerting. Every change is
a new `alert_event` row (the database refuses updates and deletes there) and a row of the
audit log, in the same transaction. Later hits of a decided alert only count on it: a dismissed
alert stays dismissed. Whether `user` may review is the caller's check (crawler.access).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection

from crawler import audit
from crawler.errors import UserError
from crawler.matching.banks import BankRecord, import_bank, normalize_value
from storage import alert_store


class Decision(StrEnum):
    CONFIRM = "confirm"
    DISMISS = "dismiss"
    ESCALATE = "escalate"


DECIDED_STATUS = {
    Decision.CONFIRM: "confirmed",
    Decision.DISMISS: "dismissed",
    Decision.ESCALATE: "escalated",
}
CLAIMABLE = frozenset({"new", "in_review", "escalated"})
"""An escalated alert goes back to review by whoever it was escalated to."""
REASON_REQUIRED = frozenset({"high", "critical"})
MAX_REASON = 2000


class WorkflowError(UserError):
    """A transition the workflow does not allow; the message says why."""


def _actor(user: str) -> str:
    name = user.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise WorkflowError("--as needs a reviewer name (1-100 printable characters)")
    return name


def _load(conn: Connection, alert_id: int) -> dict:
    alert = alert_store.lock_alert(conn, alert_id)
    if alert is None:
        raise WorkflowError(f"no alert {alert_id}")
    return alert


def _held_by_other(alert: dict, user: str, now: datetime) -> bool:
    lease = alert["lease_until"]
    return alert["assignee"] not in (None, user) and lease is not None and lease > now


def claim(
    conn: Connection, alert_id: int, user: str, now: datetime, lease_s: int,
    *, origin: audit.Origin | None = None,
) -> dict:  # fmt: skip
    """Take (or renew) the review lease; refused while another reviewer holds a live lease.
    `origin` is the front end the audit row names (this process's command line without one)."""
    user = _actor(user)
    alert = _load(conn, alert_id)
    if alert["status"] not in CLAIMABLE:
        raise WorkflowError(f"alert {alert_id} is {alert['status']}; decided alerts stay decided")
    if _held_by_other(alert, user, now):
        until = alert["lease_until"].isoformat()
        raise WorkflowError(f"alert {alert_id} is claimed by {alert['assignee']} until {until}")
    until = now + timedelta(seconds=lease_s)
    alert_store.update_alert(
        conn, alert_id, {"status": "in_review", "assignee": user, "lease_until": until}
    )
    alert_store.add_events(
        conn,
        [{"alert_id": alert_id, "at": now, "actor": user, "action": "claim",
          "from_status": alert["status"], "to_status": "in_review", "reason": None}],
    )  # fmt: skip
    audit.record(conn, audit.Action.ALERT_CLAIM, f"alert {alert_id}",
                 {"from": alert["status"], "lease_until": until}, actor=user,
                 origin=origin)  # fmt: skip
    return {**alert, "status": "in_review", "assignee": user, "lease_until": until}


def decide(
    conn: Connection,
    alert_id: int,
    decision: Decision,
    user: str,
    now: datetime,
    *,
    reason: str | None = None,
    negative_bank: str | None = None,
    lease_s: int = 1800,
    origin: audit.Origin | None = None,
) -> str:
    """Record a decision and return the new status. An unclaimed alert is claimed first (both
    steps are in the history); one claimed by someone else cannot be decided."""
    user = _actor(user)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise WorkflowError(f"--reason is longer than {MAX_REASON} characters")
    alert = _load(conn, alert_id)
    if alert["status"] != "in_review" or alert["assignee"] != user:
        alert = claim(conn, alert_id, user, now, lease_s, origin=origin)
    if decision is Decision.DISMISS and alert["severity"] in REASON_REQUIRED and not reason:
        raise WorkflowError(f"dismissing a {alert['severity']} alert needs --reason")
    if negative_bank is not None:
        if decision is not Decision.DISMISS or alert["kind"] != "hash_match":
            raise WorkflowError("--negative-bank applies only when dismissing a hash match")
        _add_to_negative_bank(conn, alert, negative_bank, user, now, origin)
    status = DECIDED_STATUS[decision]
    alert_store.update_alert(conn, alert_id, {"status": status, "lease_until": None})
    alert_store.add_events(
        conn,
        [{"alert_id": alert_id, "at": now, "actor": user, "action": str(decision),
          "from_status": "in_review", "to_status": status, "reason": reason}],
    )  # fmt: skip
    audit.record(
        conn, audit.Action.ALERT_DECIDE, f"alert {alert_id}",
        {"decision": str(decision), "to": status, "reason": reason}, actor=user, origin=origin,
    )  # fmt: skip
    return status


def _add_to_negative_bank(
    conn: Connection, alert: dict, bank: str, user: str, now: datetime,
    origin: audit.Origin | None,
) -> None:  # fmt: skip
    evidence = alert["evidence"]
    signal_type, value = normalize_value(evidence["signal_type"], evidence["media_hash"])
    label = f"false positive of alert {alert['id']} ({evidence['bank']}), dismissed by {user}"
    import_bank(conn, [BankRecord(signal_type, value, label)], bank=bank, negative=True, at=now)
    alert_store.add_events(
        conn,
        [{"alert_id": alert["id"], "at": now, "actor": user, "action": "negative_bank",
          "from_status": None, "to_status": None, "reason": f"added to {bank}"}],
    )  # fmt: skip
    audit.record(
        conn, audit.Action.ALERT_NEGATIVE_BANK, f"alert {alert['id']}",
        {"bank": bank, "signal_type": signal_type, "value": value}, actor=user, origin=origin,
    )  # fmt: skip
