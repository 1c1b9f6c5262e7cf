"""The review queue and an alert's detail: what reviewers read.

Every collected string reaches a template through `shown` or `highlighted` (crawler/web/text.py)
and is then autoescaped. What a page may show of an alert is crawler/web/wellness.py's call:
source links only once revealed, a critical alert's text only once chosen. The acts themselves
(claim, decide, bulk, next) are crawler/web/actions.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Connection, Engine

from crawler.access import Permission, can
from crawler.matching import workflow
from crawler.matching.alerts import SEVERITIES, Kind
from crawler.web import wellness
from crawler.web.context import WebUser, alert_id_of, db, render, user_of
from crawler.web.links import public_links
from crawler.web.text import highlighted, shown
from storage import alert_store, audit_store, review_queries, user_store
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


def parse_filters(query: Mapping[str, Any]) -> tuple[review_queries.QueueFilter, int | None]:
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
    return review_queries.QueueFilter(**values), int(after) if after else None


def _bulk_report(conn: Connection, user: WebUser, raw: str) -> dict[str, Any] | None:
    """The reviewer's own bulk act named by `bulk=` (its audit row), for the notice after it."""
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        return None
    row = audit_store.row_at(conn, int(raw))
    if row is None or row["actor"] != user.name or row["action"] != "alert.bulk":
        return None
    details = row["details"]
    skipped = [(shown(i), shown(why)) for i, why in sorted(details.get("skipped", {}).items())]
    status = workflow.DECIDED_STATUS.get(details.get("decision"), "")
    return {"status": shown(status), "decided": len(details["decided"]),
            "skipped": skipped}  # fmt: skip


def _queue_data(
    engine: Engine, filters: review_queries.QueueFilter, after: int | None, user: WebUser,
    bulk: str,
) -> tuple[list[dict[str, Any]], int, dict[str, Any] | None]:  # fmt: skip
    with engine.connect() as conn:
        rows = review_queries.review_queue(conn, filters, after=after, limit=PAGE + 1)
        report = _bulk_report(conn, user, bulk) if bulk else None
    return rows, wellness.critical_today(engine, user), report


def _row_view(alert: dict[str, Any]) -> dict[str, Any]:
    subject, evidence = alert["subject"], alert["evidence"] or {}
    what = evidence.get("rule") or evidence.get("bank") or evidence.get("change") or ""
    return {
        **alert, "source": shown(subject.get("source") or subject.get("channel") or ""),
        "title": shown(alert.get("source_title") or ""), "what": shown(what),
        "assignee": shown(alert["assignee"] or ""),
    }  # fmt: skip


async def queue_page(
    request: web.Request, query: Mapping[str, Any], error: str | None = None, status: int = 200
) -> web.Response:
    """The queue for `query` (the request's own, or the filters a refused form carried)."""
    user = user_of(request)
    context: dict[str, Any] = {
        "filters": {name: query.get(name, "") for name in FILTERS},
        "kinds": [str(k) for k in Kind], "severities": SEVERITIES, "statuses": STATUSES,
        "bulk_decisions": sorted(str(d) for d in workflow.BULK_DECISIONS), "rows": [],
        "next_url": None, "report": None, "empty": query.get("empty") == "1",
        "critical_today": None,
    }  # fmt: skip
    try:
        filters, after = parse_filters(query)
    except BadQuery as exc:
        return await render(request, "alerts.html", {**context, "error": str(exc)}, status=400)
    rows, count, report = await db(
        request, _queue_data, filters, after, user, query.get("bulk", "")
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    next_url = str(request.rel_url.update_query(after=rows[-1]["id"])) if more else None
    if request.method != "GET":
        next_url = None
    context.update(rows=[_row_view(r) for r in rows], next_url=next_url, report=report,
                   critical_today=count, error=error)  # fmt: skip
    return await render(request, "alerts.html", context, status=status)


async def queue(request: web.Request) -> web.Response:
    return await queue_page(request, request.query)


def _load_detail(engine: Engine, alert_id: int, user: WebUser) -> dict[str, Any] | None:
    # A transaction: with show_critical on, showing a critical text records the read.
    with engine.begin() as conn:
        alert = alert_store.alert_detail(conn, alert_id)
        if alert is None:
            return None
        subject = alert["subject"]
        alert["exposure"] = wellness.exposure(conn, user, alert_id, alert["severity"])
        if subject.get("source_id") is not None:
            alert["source"] = review_queries.alert_source(conn, subject["source_id"])
            alert["source_history"] = review_queries.source_history(conn, subject["source_id"])
        if subject.get("item_id") is not None:
            alert["versions"] = review_queries.item_versions(conn, subject["item_id"])
            alert["media"] = review_queries.item_media(conn, subject["item_id"])
        if user.can(Permission.ASSIGN_ALERTS):
            alert["reviewers"] = [
                u["name"] for u in user_store.list_users(conn)
                if u["enabled"] and can(u["role"], Permission.REVIEW_ALERTS)
            ]  # fmt: skip
    return alert


def _value(value: Any) -> str:
    if isinstance(value, str):
        return shown(value)
    return shown(json.dumps(value, ensure_ascii=False, sort_keys=True))


HIDDEN = "(hidden until you choose to read it)"
TEXT_EVIDENCE = frozenset({"before", "after"})
"""Evidence fields that may carry collected text (the hits are shown apart): held back with a
critical alert's text."""


def _hits(alert: dict[str, Any], text: str, text_shown: bool) -> tuple[list, list]:
    hits = (alert["evidence"] or {}).get("hits") or []
    # Offsets index the item's text as matched; a text edited since no longer lines up, and then
    # nothing is highlighted rather than the wrong words.
    spans = [
        (h["start"], h["end"]) for h in hits
        if isinstance(h.get("start"), int) and isinstance(h.get("end"), int)
        and text[h["start"]:h["end"]] == h.get("matched_text")
    ]  # fmt: skip
    fields = ("term", "form", "matched_text", "severity")
    rows = [
        {k: _value(h.get(k)) if text_shown or k != "matched_text" else HIDDEN for k in fields}
        for h in hits
    ]
    return spans, rows


def _detail_view(alert: dict[str, Any], user: WebUser) -> dict[str, Any]:
    evidence, exposure = alert["evidence"] or {}, alert["exposure"]
    text = alert.get("item_text") or ""
    spans, hits = _hits(alert, text, exposure.text_shown)
    source = alert.get("source")
    shown_source = None
    if source is not None:
        name = source_name(source["platform"], source["platform_id"], source["username"])
        shown_source = {"name": shown(name), "title": shown(source["title"] or "")}
    links = public_links(alert["subject"].get("url"), source) if exposure.source_revealed else []
    held = not exposure.text_shown
    return {
        "alert": alert, "text_shown": exposure.text_shown,
        "critical_today": exposure.critical_today,
        "text": highlighted(text, spans) if text and not held else [],
        "has_text": bool(text), "hits": hits,
        "evidence": [
            (shown(key), HIDDEN if held and key in TEXT_EVIDENCE else _value(value))
            for key, value in sorted(evidence.items()) if key != "hits"
        ],
        "source": shown_source, "revealed": exposure.source_revealed, "links": links,
        "has_links": bool(alert["subject"].get("url") or source),
        "source_history": [
            {k: "" if v is None else shown(v) for k, v in row.items()}
            for row in alert.get("source_history", [])
        ],
        "versions": [
            {**v, "text": shown(v["text"]) if not held else HIDDEN}
            for v in alert.get("versions", [])
        ],
        "media": alert.get("media", []),
        "events": [
            {k: "" if v is None else _value(v) for k, v in e.items()} for e in alert["events"]
        ],
        "assignee": shown(alert["assignee"] or ""),
        "decisions": [str(d) for d in workflow.Decision],
        "claimable": alert["status"] in workflow.CLAIMABLE,
        "held_by_me": alert["status"] == "in_review" and alert["assignee"] == user.name,
        "reviewers": [shown(r) for r in alert.get("reviewers", [])],
    }  # fmt: skip


async def detail_page(
    request: web.Request, alert_id: int, error: str | None = None, status: int = 200
) -> web.Response:
    user = user_of(request)
    alert = await db(request, _load_detail, alert_id, user)
    if alert is None:
        raise web.HTTPNotFound(text="no such alert")
    context = {**_detail_view(alert, user), "error": error}
    return await render(request, "alert.html", context, status=status)


async def detail(request: web.Request) -> web.Response:
    return await detail_page(request, alert_id_of(request))
