"""The review workflow: new → in_review → confirmed | dismissed | escalated.

A reviewer claims an alert (a lease: one reviewer at a time, expiring so an abandoned claim
frees itself), then decides. Dismissing needs a reason; dismissing a hash match can add the
matched hash to a negative bank so it stops alerting. Every change is
a new `alert_event` row (the database refuses updates and deletes there) and a row of the
audit log, in the same transaction. Later hits of a decided alert only count on it: a dismissed
alert stays dismissed. Whether `user` may review is the caller's check (crawler.access).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection

from crawler import audit
from crawler.errors import UserError
from crawler.matching.banks import BankRecord, import_bank, normalize_value
from storage import alert_events, alert_store, bank_store


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
MAX_REASON = 2000


MAX_BULK = 200
"""Alerts one bulk decision may cover: a few queue pages, one transaction."""


class WorkflowError(UserError):
    """A transition the workflow does not allow. The message says why in words every front end
    can show; `option` names the input at fault (the CLI adds its flag, the web its field)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


def _actor(user: str) -> str:
    name = user.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise WorkflowError("a reviewer name is 1-100 printable characters", "as")
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
    return _hold(conn, alert, user, user, now, lease_s, origin)


def _hold(
    conn: Connection, alert: dict, holder: str, actor: str, now: datetime, lease_s: int,
    origin: audit.Origin | None,
) -> dict:  # fmt: skip
    """Put the alert in review under `holder`'s lease: a claim when `actor` is the holder, an
    assignment otherwise."""
    until = now + timedelta(seconds=lease_s)
    alert_store.update_alert(
        conn, alert["id"], {"status": "in_review", "assignee": holder, "lease_until": until}
    )
    claimed = holder == actor
    alert_store.add_events(
        conn,
        [{"alert_id": alert["id"], "at": now, "actor": actor,
          "action": "claim" if claimed else "assign", "from_status": alert["status"],
          "to_status": "in_review", "reason": None if claimed else f"to {holder}"}],
    )  # fmt: skip
    details = {"from": alert["status"], "lease_until": until}
    if not claimed:
        details.update(holder=alert["assignee"], to=holder)
    audit.record(conn, audit.Action.ALERT_CLAIM if claimed else audit.Action.ALERT_ASSIGN,
                 f"alert {alert['id']}", details, actor=actor, origin=origin)  # fmt: skip
    return {**alert, "status": "in_review", "assignee": holder, "lease_until": until}


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
    may_create_bank: bool = False,
) -> str:
    """Record a decision and return the new status. An unclaimed alert is claimed first (both
    steps are in the history); one claimed by someone else cannot be decided. A hash match's
    hash may go to an existing negative bank; creating that bank needs `may_create_bank` (an
    admin's right: staff add entries, they do not make banks)."""
    user = _actor(user)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise WorkflowError(f"the reason is longer than {MAX_REASON} characters", "reason")
    alert = _load(conn, alert_id)
    if alert["status"] != "in_review" or alert["assignee"] != user:
        alert = claim(conn, alert_id, user, now, lease_s, origin=origin)
    if decision is Decision.DISMISS and not reason:
        # A dismissal silences the alert for good: whoever reads it later must learn why.
        raise WorkflowError("dismissing an alert needs a reason", "reason")
    if negative_bank is not None:
        if decision is not Decision.DISMISS or alert["kind"] != "hash_match":
            raise WorkflowError(
                "a negative bank applies only when dismissing a hash match", "negative-bank"
            )
        _add_to_negative_bank(conn, alert, negative_bank, user, now, origin, may_create_bank)
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
    origin: audit.Origin | None, may_create_bank: bool,
) -> None:  # fmt: skip
    existing = bank_store.bank_polarity(conn, bank)
    if existing is None and not may_create_bank:
        raise WorkflowError(
            f"no negative bank {bank!r}: an admin creates banks (chanwatch banks import)",
            "negative-bank",
        )
    if existing is False:
        raise WorkflowError(f"bank {bank!r} is not a negative bank", "negative-bank")
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


def release(
    conn: Connection, alert_id: int, user: str, now: datetime, *, any_holder: bool = False,
    origin: audit.Origin | None = None,
) -> str:  # fmt: skip
    """Give the alert back to the queue, in the status it was claimed from; returns it. A
    reviewer releases their own claim; `any_holder` (an admin) releases anyone's. Releasing an
    alert nobody holds changes nothing."""
    user = _actor(user)
    alert = _load(conn, alert_id)
    if alert["status"] != "in_review" or alert["assignee"] is None:
        return str(alert["status"])
    if alert["assignee"] != user and not any_holder and _held_by_other(alert, user, now):
        raise WorkflowError(f"alert {alert_id} is claimed by {alert['assignee']}")
    back = _claimed_from(conn, alert_id)
    alert_store.update_alert(
        conn, alert_id, {"status": back, "assignee": None, "lease_until": None}
    )
    alert_store.add_events(
        conn,
        [{"alert_id": alert_id, "at": now, "actor": user, "action": "release",
          "from_status": "in_review", "to_status": back, "reason": None}],
    )  # fmt: skip
    audit.record(conn, audit.Action.ALERT_RELEASE, f"alert {alert_id}",
                 {"holder": alert["assignee"], "to": back}, actor=user,
                 origin=origin)  # fmt: skip
    return back


def _claimed_from(conn: Connection, alert_id: int) -> str:
    """The status the alert's latest claim took it from (an escalated alert goes back to the
    escalated pile, not to new)."""
    previous = alert_events.last_claimed_from(conn, alert_id)
    return previous if previous in CLAIMABLE and previous != "in_review" else "new"


def assign(
    conn: Connection, alert_id: int, assignee: str, by: str, now: datetime, lease_s: int,
    *, origin: audit.Origin | None = None,
) -> dict:  # fmt: skip
    """Give the alert's review lease to `assignee` (an admin's act; whether `assignee` may
    review is the caller's check), whoever held it before."""
    by, assignee = _actor(by), _actor(assignee)
    alert = _load(conn, alert_id)
    if alert["status"] not in CLAIMABLE:
        raise WorkflowError(f"alert {alert_id} is {alert['status']}; decided alerts stay decided")
    return _hold(conn, alert, assignee, by, now, lease_s, origin)


BULK_DECISIONS = frozenset({Decision.DISMISS, Decision.ESCALATE})
"""Confirming is a judgement about one item's evidence: it is never done in bulk."""


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    decided: list[int]
    skipped: dict[int, str]
    """Each alert left alone, and why (claimed by someone else, already decided, gone)."""
    audit_seq: int
    """The bulk act's own audit row, which names every alert and every reason."""


def decide_many(
    conn: Connection, alert_ids: list[int], decision: Decision, user: str,
    now: datetime, *, reason: str | None, lease_s: int, origin: audit.Origin | None = None,
) -> BulkOutcome:  # fmt: skip
    """One decision with one reason over a selection. Alerts that cannot take it are left
    alone and reported; the rest are decided. The bulk act is one audit row naming every
    alert; each decision is also in its alert's history and in the log."""
    if decision not in BULK_DECISIONS:
        raise WorkflowError("only dismiss and escalate apply to a selection", "decision")
    unique = list(dict.fromkeys(alert_ids))
    if not unique:
        raise WorkflowError("select at least one alert", "alert_id")
    if len(unique) > MAX_BULK:
        raise WorkflowError(f"at most {MAX_BULK} alerts at once", "alert_id")
    if not (reason or "").strip():
        raise WorkflowError("a bulk decision needs a reason", "reason")
    decided: list[int] = []
    skipped: dict[int, str] = {}
    for alert_id in unique:
        try:
            with conn.begin_nested():
                decide(conn, alert_id, decision, user, now, reason=reason, lease_s=lease_s,
                       origin=origin)  # fmt: skip
        except WorkflowError as exc:
            skipped[alert_id] = str(exc)
        else:
            decided.append(alert_id)
    seq = audit.record(
        conn, audit.Action.ALERT_BULK, f"{len(decided)} alerts",
        {"decision": str(decision), "reason": reason, "decided": decided,
         "skipped": {str(i): why for i, why in skipped.items()}}, actor=user, origin=origin,
    )  # fmt: skip
    return BulkOutcome(decided, skipped, seq)
