"""What reviewers do to alerts from the browser: claim, release, assign (admin), decide, decide a
selection in bulk, and take the next unclaimed alert (or skip to it).

Every act goes through crawler/matching/workflow.py with the web origin, so the alert's history
and the audit log say who did it and through what. A refusal of the workflow is shown on the page
the reviewer came from with 409; a malformed form is 400. Success redirects (POST, then GET), so
a reload never repeats a decision.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import Engine

from crawler.access import Permission, can
from crawler.matching import workflow
from crawler.web.context import SETTINGS, WEB_ORIGIN, WebUser, alert_id_of, db, now, user_of
from crawler.web.review import FILTERS, BadQuery, detail_page, parse_filters, queue_page
from storage import review_queries, user_store

NEXT_PAGE = 50
NEXT_SCAN = 20
"""Pages of the queue "next" looks through for an alert nobody holds (1,000 alerts)."""


def _lease(request: web.Request) -> int:
    return request.app[SETTINGS].alerts.claim_lease_s


def _claim(engine: Engine, alert_id: int, user: str, lease_s: int) -> None:
    with engine.begin() as conn:
        workflow.claim(conn, alert_id, user, now(), lease_s, origin=WEB_ORIGIN)


async def claim(request: web.Request) -> web.Response:
    alert_id, user = alert_id_of(request), user_of(request)
    try:
        await db(request, _claim, alert_id, user.name, _lease(request))
    except workflow.WorkflowError as exc:
        return await detail_page(request, alert_id, str(exc), 409)
    raise web.HTTPSeeOther(f"/alerts/{alert_id}")


def _release(engine: Engine, alert_id: int, user: WebUser) -> None:
    with engine.begin() as conn:
        workflow.release(conn, alert_id, user.name, now(), origin=WEB_ORIGIN,
                         any_holder=user.can(Permission.ASSIGN_ALERTS))  # fmt: skip


async def release(request: web.Request) -> web.Response:
    alert_id, user = alert_id_of(request), user_of(request)
    try:
        await db(request, _release, alert_id, user)
    except workflow.WorkflowError as exc:
        return await detail_page(request, alert_id, str(exc), 409)
    raise web.HTTPSeeOther(f"/alerts/{alert_id}")


def _assign(engine: Engine, alert_id: int, assignee: str, by: str, lease_s: int) -> None:
    with engine.begin() as conn:
        target = user_store.get_user(conn, assignee)
        if target is None or not target["enabled"] or not can(
            target["role"], Permission.REVIEW_ALERTS
        ):
            raise workflow.WorkflowError(f"{assignee} is not an enabled staff or admin user")
        workflow.assign(conn, alert_id, assignee, by, now(), lease_s, origin=WEB_ORIGIN)


async def assign(request: web.Request) -> web.Response:
    alert_id, user = alert_id_of(request), user_of(request)
    assignee = (await request.post()).get("assignee")
    if not isinstance(assignee, str) or not assignee.strip() or len(assignee) > 100:
        return await detail_page(request, alert_id, "Choose a reviewer to assign.", 400)
    try:
        await db(request, _assign, alert_id, assignee.strip(), user.name, _lease(request))
    except workflow.WorkflowError as exc:
        return await detail_page(request, alert_id, str(exc), 409)
    raise web.HTTPSeeOther(f"/alerts/{alert_id}")


def _decide(
    engine: Engine, alert_id: int, user: WebUser, decision: workflow.Decision,
    reason: str | None, negative_bank: str | None, lease_s: int,
) -> None:  # fmt: skip
    with engine.begin() as conn:
        workflow.decide(
            conn, alert_id, decision, user.name, now(), reason=reason,
            negative_bank=negative_bank, lease_s=lease_s, origin=WEB_ORIGIN,
            may_create_bank=user.can(Permission.MANAGE_BANKS),
        )  # fmt: skip


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


async def decide(request: web.Request) -> web.Response:
    alert_id, user = alert_id_of(request), user_of(request)
    form = await request.post()
    try:
        decision = workflow.Decision(form.get("decision"))
    except ValueError:
        return await detail_page(request, alert_id, "Choose confirm, dismiss or escalate.", 400)
    reason, bank = _text(form, "reason"), _text(form, "negative_bank")
    try:
        await db(request, _decide, alert_id, user, decision, reason, bank, _lease(request))
    except workflow.WorkflowError as exc:
        return await detail_page(request, alert_id, str(exc), 409)
    raise web.HTTPSeeOther(f"/alerts/{alert_id}")


def _decide_many(
    engine: Engine, ids: list[int], decision: workflow.Decision, user: str, reason: str | None,
    lease_s: int,
) -> int:  # fmt: skip
    with engine.begin() as conn:
        outcome = workflow.decide_many(conn, ids, decision, user, now(), reason=reason,
                                       lease_s=lease_s, origin=WEB_ORIGIN)  # fmt: skip
    return outcome.audit_seq


def _id(value: object) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _filters_query(form: Mapping[str, Any]) -> dict[str, str]:
    """The queue's filters as the form carried them (bounded like the queue's own)."""
    return {
        name: value for name in FILTERS
        if isinstance(value := form.get(name), str) and value and len(value) <= 200
    }  # fmt: skip


async def bulk(request: web.Request) -> web.Response:
    user = user_of(request)
    form = await request.post()
    back = _filters_query(form)
    parsed = [_id(value) for value in form.getall("alert_id", [])]
    if len(parsed) > workflow.MAX_BULK or None in parsed:
        return await queue_page(request, back, "Select up to 200 alerts from the queue.", 400)
    ids = [i for i in parsed if i is not None]
    try:
        decision = workflow.Decision(form.get("decision"))
    except ValueError:
        return await queue_page(request, back, "Choose dismiss or escalate.", 400)
    try:
        seq = await db(request, _decide_many, ids, decision, user.name, _text(form, "reason"),
                       _lease(request))  # fmt: skip
    except workflow.WorkflowError as exc:
        return await queue_page(request, back, str(exc), 409)
    raise web.HTTPSeeOther(f"/alerts?{urlencode({**back, 'bulk': seq})}")


def _take_next(
    engine: Engine, filters: review_queries.QueueFilter, user: str, lease_s: int,
    skip: int | None,
) -> int | None:  # fmt: skip
    """Claim the first alert in queue order (after `skip`, then from the top) that nobody else
    holds; its id, or None when the filtered queue has none. A race lost to another reviewer
    moves on to the following alert."""
    for after in ((skip, None) if skip is not None else (None,)):
        for row in _candidates(engine, filters, after):
            if row["id"] == skip or not _free(row, user):
                continue
            try:
                _claim(engine, row["id"], user, lease_s)
            except workflow.WorkflowError:
                continue
            return int(row["id"])
    return None


def _candidates(
    engine: Engine, filters: review_queries.QueueFilter, after: int | None
) -> Iterator[dict[str, Any]]:
    for _ in range(NEXT_SCAN):
        with engine.connect() as conn:
            rows = review_queries.review_queue(conn, filters, after=after, limit=NEXT_PAGE)
        yield from rows
        if len(rows) < NEXT_PAGE:
            return
        after = rows[-1]["id"]


def _free(row: Mapping[str, Any], user: str) -> bool:
    if row["status"] not in workflow.CLAIMABLE:
        return False
    return row["status"] != "in_review" or row["assignee"] in (None, user)


def _skip(engine: Engine, alert_id: int, user: WebUser) -> None:
    """Skipping an alert one holds gives it back; skipping one held by someone else, or by
    nobody, changes nothing."""
    try:
        _release(engine, alert_id, user)
    except workflow.WorkflowError:
        return


async def take_next(request: web.Request) -> web.Response:
    """Claim the next unclaimed alert of the filtered queue (status `new` unless the filters
    say otherwise) and open it; `skip` (an alert id) first gives that one back."""
    user = user_of(request)
    form = await request.post()
    query = _filters_query(form)
    try:
        filters, _ = parse_filters({"status": "new", **query})
    except BadQuery as exc:
        return await queue_page(request, query, str(exc), 400)
    skip = _id(form.get("skip"))
    if skip is not None:
        await db(request, _skip, skip, user)
    found = await db(request, _take_next, filters, user.name, _lease(request), skip)
    if found is None:
        done = {**query, "status": query.get("status", "new"), "empty": "1"}
        raise web.HTTPSeeOther(f"/alerts?{urlencode(done)}")
    raise web.HTTPSeeOther(f"/alerts/{found}")

