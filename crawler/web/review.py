"""The review queue, an alert's detail, and claim / decide through crawler/matching/workflow.py.

Every collected string reaches a template through `shown` or `highlighted` (crawler/web/text.py)
and is then autoescaped. Decisions go through the same workflow functions as the CLI's, with
the web origin, so the alert's history and the audit log say who decided, and through what.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Engine

from crawler.matching import workflow
from crawler.matching.alerts import SEVERITIES, Kind
from crawler.web.context import SETTINGS, WEB_ORIGIN, WebUser, db, render, signed_in
from crawler.web.text import highlighted, shown
from storage import alert_store
from storage.item_queries import source_name

PAGE = 50
FILTERS = ("kind", "severity", "status", "assignee", "source", "rule", "bank", "since", "until")
STATUSES = ("new", "in_review", "confirmed", "dismissed", "escalated")
MAX_FILTER = 200


class BadQuery(ValueError):
    """A filter the queue cannot apply; the message is shown to the reviewer."""


def _time(name: str, value: str) -> datetime:
    """An ISO date or time; a date is its midnight UTC, a time without zone is UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadQuery(f"{name}: expected a date or time such as 2024-08-27") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_filters(query: Any) -> tuple[alert_store.QueueFilter, int | None]:
    values: dict[str, Any] = {}
    for name in FILTERS:
        value = query.get(name, "").strip()
        if not value:
            continue
        if len(value) > MAX_FILTER:
            raise BadQuery(f"{name}: longer than {MAX_FILTER} characters")
        values[name] = _time(name, value) if name in ("since", "until") else value
    after = query.get("after", "").strip()
    if after and not (after.isascii() and after.isdigit() and len(after) < 19):
        raise BadQuery("after: expected an alert id")
    return alert_store.QueueFilter(**values), int(after) if after else None


def _queue_page(
    engine: Engine, filters: alert_store.QueueFilter, after: int | None
) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return alert_store.review_queue(conn, filters, after=after, limit=PAGE + 1)


def _row_view(alert: dict[str, Any]) -> dict[str, Any]:
    subject, evidence = alert["subject"], alert["evidence"] or {}
    what = evidence.get("rule") or evidence.get("bank") or evidence.get("change") or ""
    return {
        **alert, "source": shown(subject.get("source") or subject.get("channel") or ""),
        "title": shown(alert.get("source_title") or ""), "what": shown(what),
        "assignee": shown(alert["assignee"] or ""),
    }  # fmt: skip


async def queue(request: web.Request) -> web.Response:
    context: dict[str, Any] = {
        "filters": {name: request.query.get(name, "") for name in FILTERS},
        "kinds": [str(k) for k in Kind], "severities": SEVERITIES, "statuses": STATUSES,
    }  # fmt: skip
    try:
        filters, after = parse_filters(request.query)
    except BadQuery as exc:
        context.update(error=str(exc), rows=[], next_url=None)
        return await render(request, "alerts.html", context, status=400)
    rows = await db(request, _queue_page, filters, after)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    next_url = str(request.rel_url.update_query(after=rows[-1]["id"])) if more else None
    context.update(rows=[_row_view(r) for r in rows], next_url=next_url, error=None)
    return await render(request, "alerts.html", context)


def _load_detail(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        alert = alert_store.alert_detail(conn, alert_id)
        if alert is not None and alert["subject"].get("source_id") is not None:
            alert["source"] = alert_store.alert_source(conn, alert["subject"]["source_id"])
    return alert


def _value(value: Any) -> str:
    if isinstance(value, str):
        return shown(value)
    return shown(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _detail_view(alert: dict[str, Any]) -> dict[str, Any]:
    evidence = alert["evidence"] or {}
    text = alert.get("item_text") or ""
    hits = evidence.get("hits") or []
    # Offsets index the item's text as matched; a text edited since no longer lines up, and then
    # nothing is highlighted rather than the wrong words.
    spans = [
        (h["start"], h["end"]) for h in hits
        if isinstance(h.get("start"), int) and isinstance(h.get("end"), int)
        and text[h["start"]:h["end"]] == h.get("matched_text")
    ]  # fmt: skip
    source = alert.get("source")
    hit_fields = ("term", "form", "matched_text", "severity")
    shown_source = None
    if source is not None:
        name = source_name(source["platform"], source["platform_id"], source["username"])
        shown_source = {"name": shown(name), "title": shown(source["title"] or "")}
    return {
        "alert": alert,
        "text": highlighted(text, spans) if text else [],
        "hits": [{k: _value(h.get(k)) for k in hit_fields} for h in hits],
        "evidence": [
            (shown(key), _value(value)) for key, value in sorted(evidence.items()) if key != "hits"
        ],
        "source": shown_source,
        "item_url": shown(alert["subject"].get("url") or ""),
        "events": [
            {k: "" if v is None else _value(v) for k, v in e.items()} for e in alert["events"]
        ],
        "assignee": shown(alert["assignee"] or ""),
        "decisions": [str(d) for d in workflow.Decision],
        "claimable": alert["status"] in workflow.CLAIMABLE,
    }


async def _detail_page(
    request: web.Request, alert_id: int, error: str | None = None, status: int = 200
) -> web.Response:
    alert = await db(request, _load_detail, alert_id)
    if alert is None:
        raise web.HTTPNotFound(text="no such alert")
    context = {**_detail_view(alert), "error": error}
    return await render(request, "alert.html", context, status=status)


def _alert_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if len(raw) > 18:
        raise web.HTTPNotFound(text="no such alert")
    return int(raw)


async def detail(request: web.Request) -> web.Response:
    return await _detail_page(request, _alert_id(request))


def _claim(engine: Engine, alert_id: int, user: str, lease_s: int) -> None:
    with engine.begin() as conn:
        workflow.claim(conn, alert_id, user, datetime.now(UTC), lease_s, origin=WEB_ORIGIN)


def _decide(
    engine: Engine, alert_id: int, user: str, decision: workflow.Decision, reason: str | None,
    lease_s: int,
) -> None:  # fmt: skip
    with engine.begin() as conn:
        workflow.decide(conn, alert_id, decision, user, datetime.now(UTC), reason=reason,
                        lease_s=lease_s, origin=WEB_ORIGIN)  # fmt: skip


def _reviewer(request: web.Request) -> WebUser:
    user = signed_in(request)
    assert user is not None  # the guard middleware admitted only signed-in reviewers here
    return user


async def claim(request: web.Request) -> web.Response:
    alert_id, user = _alert_id(request), _reviewer(request)
    lease_s = request.app[SETTINGS].alerts.claim_lease_s
    try:
        await db(request, _claim, alert_id, user.name, lease_s)
    except workflow.WorkflowError as exc:
        return await _detail_page(request, alert_id, str(exc), 409)
    raise web.HTTPSeeOther(f"/alerts/{alert_id}")


async def decide(request: web.Request) -> web.Response:
    alert_id, user = _alert_id(request), _reviewer(request)
    form = await request.post()
    raw_decision, reason = form.get("decision"), form.get("reason")
    try:
        decision = workflow.Decision(raw_decision)
    except ValueError:
        return await _detail_page(request, alert_id, "Choose confirm, dismiss or escalate.", 400)
    reason = reason if isinstance(reason, str) else None
    lease_s = request.app[SETTINGS].alerts.claim_lease_s
    try:
        await db(request, _decide, alert_id, user.name, decision, reason, lease_s)
    except workflow.WorkflowError as exc:
        return await _detail_page(request, alert_id, str(exc), 409)
    raise web.HTTPSeeOther(f"/alerts/{alert_id}")
