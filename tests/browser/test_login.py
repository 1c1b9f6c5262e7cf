"""Signing in and out through the login form in a real browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.browser.harness import ServedApp
from tests.browser.pages import log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_logging_in_through_the_form_lands_on_the_queue(
    demo_app: ServedApp, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    page.goto(demo_app.url("/login"))
    # The form posts its session's CSRF token in a hidden field the person never sees.
    token = page.locator("form.login input[name=csrf_token]")
    assert token.get_attribute("type") == "hidden" and len(token.input_value()) == 64

    log_in(page, demo_app.base_url, demo_app.users["staff"], demo_app.password)

    assert page.url == demo_app.url("/alerts")
    assert page.title().startswith("Alerts")
    assert page.locator("header .who").inner_text() == "jiwoo (staff)"
    rows = page.locator("table.queue tbody tr")
    assert rows.count() >= 20  # the demo raises every alert kind, some twenty alerts
    assert page.locator("table.queue tbody a[href^='/alerts/']").count() == rows.count()


def test_a_wrong_password_shows_the_error_and_stays_on_the_login_page(
    demo_app: ServedApp, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    log_in(page, demo_app.base_url, demo_app.users["investigator"], "not the password at all")

    assert page.url == demo_app.url("/login")
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    assert page.locator("header .who").count() == 0
    # Not signed in: the queue still sends this browser to the form.
    page.goto(demo_app.url("/alerts"))
    assert page.url.startswith(demo_app.url("/login?next="))


def test_logging_out_returns_to_login_and_the_queue_then_asks_to_log_in_again(
    demo_app: ServedApp, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("investigator", demo_app)

    page.click("header form[action='/logout'] button")
    page.wait_for_load_state()

    assert page.url == demo_app.url("/login")
    page.goto(demo_app.url("/alerts"))
    assert page.url.startswith(demo_app.url("/login?next="))
    assert page.locator("form.login input[name=next]").input_value() == "/alerts"
