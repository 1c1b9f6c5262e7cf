"""Reads of an alert's append-only history that the review workflow decides by."""

from __future__ import annotations

from sqlalchemy import Connection, select

from storage.models import AlertEvent

_events = AlertEvent.__table__


def last_claimed_from(conn: Connection, alert_id: int) -> str | None:
    """The status the alert's latest claim or assignment took it from; None if never claimed."""
    return conn.execute(
        select(_events.c.from_status)
        .where(_events.c.alert_id == alert_id, _events.c.action.in_(("claim", "assign")))
        .order_by(_events.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
