"""A reviewer's whole job in Chromium: take the next alert, read what was held back, decide from
the keyboard, decide a selection in bulk, race another reviewer for one alert, and reveal a
source's links, with the database and the audit log checked after each."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from storage.models.operations import AuditLog
from tests.browser.harness import ServedApp, room, room_post, seed_alerts
from tests.integration.alert_helpers import REVIEW_RULES, alerts, load_rules

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOM = room(1500000001, "jiin_room_demo", "동네 소식")
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""The browser part is the same on both backends (tests/integration/test_web_review.py runs
every action on both); only the race, where row locks differ, runs on PostgreSQL too."""


def _seed(app: ServedApp) -> tuple[int, list[int]]:
    """One critical alert (rule `worst`) and three high ones (rule `rooms`)."""
    load_rules(app.engine, REVIEW_RULES)
    posts = [room_post(ROOM, i, f"지인능욕 제보 {i}") for i in range(1, 4)]
    seed_alerts(app.engine, [ROOM, *posts, room_post(ROOM, 10, "겹지인방 원문 링크")])
    found = alerts(app.engine)
    [critical] = [a["id"] for a in found if a["evidence"]["rule"] == "worst"]
    return critical, [a["id"] for a in found if a["evidence"]["rule"] == "rooms"]


def _state(app: ServedApp, alert_id: int) -> tuple[str, str | None]:
    [alert] = alerts(app.engine, alert_id=alert_id)
    return alert["status"], alert["assignee"]


def _audit(app: ServedApp, action: str) -> list[dict]:
    with app.engine.connect() as conn:
        table = AuditLog.__table__
        query = select(table).where(table.c.action == action).order_by(table.c.seq)
        return [dict(row) for row in conn.execute(query).mappings()]


def _press(page: Page, key: str) -> None:
    """A shortcut that submits or follows a link: wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)


@SQLITE_ONLY
def test_a_reviewer_works_the_queue_from_the_keyboard(
    served_app: ServedApp, logged_in_page: Callable[..., Page]
) -> None:
    critical, high = _seed(served_app)
    page = logged_in_page("staff")
    staff = served_app.users["staff"]

    _press(page, "n")  # the next unclaimed alert: the critical one heads the queue
    assert page.url == served_app.url(f"/alerts/{critical}")
    assert _state(served_app, critical) == ("in_review", staff)
    assert "겹지인방 원문" not in page.content()  # held back until asked for
    assert page.locator("#critical-count").inner_text().endswith(": 0")

    _press(page, "t")
    assert page.locator("pre.evidence mark").inner_text() == "겹지인방"
    assert page.locator("#critical-count").inner_text().endswith(": 1")

    page.keyboard.press("r")
    page.keyboard.type("학교 단톡방에서 퍼진 것 확인")
    page.keyboard.press("Escape")  # out of the box: keys are shortcuts again
    _press(page, "e")
    assert _state(served_app, critical) == ("escalated", staff)
    assert page.locator("#status").inner_text().startswith("escalated")

    _press(page, "n")
    first_high = int(page.url.rsplit("/", 1)[1])
    assert first_high in high
    # Dismissing a high alert needs a reason: the key puts the cursor in the box instead.
    page.keyboard.press("d")
    assert page.evaluate("document.activeElement.name") == "reason"
    assert _state(served_app, first_high) == ("in_review", staff)
    page.keyboard.type("뉴스 기사 인용")
    page.keyboard.press("Escape")
    _press(page, "d")
    assert _state(served_app, first_high) == ("dismissed", staff)

    _press(page, "s")  # skip: the one taken is given back, the next one taken
    skipped = int(page.url.rsplit("/", 1)[1])
    _press(page, "s")
    assert _state(served_app, skipped) == ("new", None)
    _press(page, "u")
    assert page.url == served_app.url("/alerts")
    [read] = _audit(served_app, "alert.read_critical")
    assert (read["actor"], read["subject"], read["via"]) == (staff, f"alert {critical}", "web")
    events = [(e["actor"], e["details"]["reason"]) for e in _audit(served_app, "alert.decide")]
    assert events == [(staff, "학교 단톡방에서 퍼진 것 확인"), (staff, "뉴스 기사 인용")]


@SQLITE_ONLY
def test_a_reviewer_selects_alerts_from_the_keyboard_and_dismisses_them_at_once(
    served_app: ServedApp, logged_in_page: Callable[..., Page]
) -> None:
    _seed(served_app)
    page = logged_in_page("staff")
    rows = page.locator("tr[data-alert-id]")
    order = [int(rows.nth(i).get_attribute("data-alert-id") or 0) for i in range(rows.count())]
    # j moves down the queue, x selects: the second and third rows.
    for key in ("j", "j", "x", "j", "x"):
        page.keyboard.press(key)
    assert page.locator("tr.current").get_attribute("data-alert-id") == str(order[2])
    chosen = [order[1], order[2]]
    checked = page.locator("input[name=alert_id]:checked")
    assert [int(checked.nth(i).input_value()) for i in range(checked.count())] == chosen

    page.select_option("#bulk select[name=decision]", "dismiss")
    page.fill("#bulk input[name=reason]", "같은 기사 재게시")
    with page.expect_navigation():
        page.click("#bulk button[type=submit]")

    assert page.locator("#bulk-report").inner_text().startswith("2 alerts dismissed.")
    assert {i: _state(served_app, i)[0] for i in chosen} == dict.fromkeys(chosen, "dismissed")
    untouched = [i for i in order if i not in chosen]
    assert all(_state(served_app, i)[0] == "new" for i in untouched)
    [bulk] = _audit(served_app, "alert.bulk")
    assert bulk["details"]["decided"] == chosen and bulk["details"]["reason"] == "같은 기사 재게시"


def test_two_reviewers_racing_for_one_alert_leave_it_with_the_first(
    served_app: ServedApp, logged_in_page: Callable[..., Page]
) -> None:
    _, [alert_id, *_] = _seed(served_app)
    first, second = logged_in_page("staff"), logged_in_page("admin")
    for page in (first, second):  # both see it unclaimed, with a Claim button
        page.goto(served_app.url(f"/alerts/{alert_id}"))
        assert page.locator("#claim").is_visible()

    with first.expect_navigation():
        first.click("#claim")
    with second.expect_navigation():
        second.click("#claim")

    winner = served_app.users["staff"]
    assert second.get_by_role("alert").inner_text().startswith(
        f"alert {alert_id} is claimed by {winner} until"
    )
    second.fill("#reason", "제가 처리합니다")
    with second.expect_navigation():
        second.click("#decide button[value=confirm]")
    assert "is claimed by" in second.get_by_role("alert").inner_text()
    assert _state(served_app, alert_id) == ("in_review", winner)
    claims = [row["actor"] for row in _audit(served_app, "alert.claim")]
    assert claims == [winner]
    assert _audit(served_app, "alert.decide") == []


@SQLITE_ONLY
def test_source_links_appear_only_after_the_reviewer_reveals_them_and_the_reveal_is_logged(
    served_app: ServedApp, logged_in_page: Callable[..., Page]
) -> None:
    _, [alert_id, *_] = _seed(served_app)
    page = logged_in_page("investigator")
    page.goto(served_app.url(f"/alerts/{alert_id}"))
    assert page.locator("#source a").count() == 0 and "t.me" not in page.content()
    assert _audit(served_app, "alert.reveal_source") == []

    _press(page, "v")

    hrefs = [a.get_attribute("href") for a in page.locator("#source a").all()]
    assert hrefs[0].startswith("https://t.me/jiin_room_demo/") and len(hrefs) == 2
    assert {a.get_attribute("rel") for a in page.locator("#source a").all()} == {
        "noopener noreferrer"
    }
    [reveal] = _audit(served_app, "alert.reveal_source")
    user = served_app.users["investigator"]
    assert (reveal["actor"], reveal["subject"], reveal["via"]) == (user, f"alert {alert_id}", "web")
