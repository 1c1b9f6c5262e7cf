"""Browser tests: the review app served by the real `chanwatch web` in a child process, driven
by Debian's Chromium (/usr/lib/chromium/chromium) through Playwright's sync API.

Where that Chromium (or Playwright) is missing these tests skip, except under CI=true, where
they fail: a CI without the browser must not go green silently. `.ci/run` installs Debian's
`chromium` and `fonts-noto-cjk`; Playwright never downloads a browser.

Fixtures, for the tests here and the ones to come:

- `browser` (package): one headless Chromium for these tests, closed before the rest of the
  suite (which runs event loops of its own) starts.
- `new_page()` → a `Page` in a context of its own (cookies, storage), Korean locale. Every page
  of the test is watched (tests/browser/pages.py `Watch`: dialogs, CSP violations, page
  errors, 5xx responses, requests off loopback, which are aborted) and, after the test, must
  have none of those. pages.py `watch_of(page)` gives a page's `Watch` (e.g. its `requests`).
- `served_app` (per test, once on SQLite and once on PostgreSQL): an empty, migrated database
  served by `chanwatch web` on an ephemeral 127.0.0.1 port, with one user per role made by
  `chanwatch users add` (harness.USERS: `app.users["staff"]`, password `app.password`).
  `app.engine` is the database, `app.cli(...)` the real CLI on it, `app.url("/alerts")`.
- `demo_app` (session, SQLite): the same over a database filled once by `chanwatch demo --once`
  (the synthetic Korean world: every alert kind, disguised words, renamed and re-created
  rooms), for tests that only read.
- `logged_in_page(role="staff", app=None)` → a new page signed in through the login form as
  that role's user of `app` (default: `served_app`).
- harness.py `seed_alerts(app.engine, [room(...), room_post(...), ...])`: alerts raised by the
  real ingest path and matchers (load rules and banks first, with `app.cli("rules", "import",
  ...)` or tests/integration/alert_helpers.py); tests/browser/xss_corpus.py seeds that way.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from storage.engine import make_engine
from tests.browser.harness import (
    ServedApp,
    WebServer,
    add_users,
    chanwatch_child,
    config_cli,
    write_settings,
)
from tests.browser.pages import CHROMIUM, Watch, launch, log_in, new_watched_context

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the test extra was not installed: skipped (failed under CI) below
    sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DEMO_TIMEOUT_S = 300


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if _ci():
        pytest.fail(f"{reason}: CI=true requires the browser tests to run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _browser_available() -> None:
    """First, before any database or server is made for a test that could not run."""
    if sync_playwright is None:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")


@pytest.fixture(scope="package")
def browser(_browser_available: None) -> Iterator[Browser]:
    # Package, not session: while Playwright's sync API is open it keeps an event loop running
    # on this thread, and every asyncio.run() of the tests after this package would refuse.
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    contexts: list[Any] = []
    watches: list[Watch] = []

    def make(**context_options: Any) -> Page:
        context, watch = new_watched_context(browser, **context_options)
        contexts.append(context)
        watches.append(watch)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    for watch in watches:
        watch.assert_clean()


def _serve(db_url: str, folder: Path) -> Iterator[ServedApp]:
    config = write_settings(folder, db_url)
    cli = config_cli(config)
    add_users(cli)
    engine = make_engine(db_url)
    server = WebServer(config, folder)
    try:
        yield ServedApp(server.base_url, db_url, engine, cli, server)
    finally:
        server.stop()
        engine.dispose()


@pytest.fixture
def served_app(db_url: str, tmp_path: Path) -> Iterator[ServedApp]:
    """tests/conftest.py's `db_url`: an empty migrated database, SQLite then PostgreSQL."""
    yield from _serve(db_url, tmp_path)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`chanwatch demo --once` into a SQLite file, once per run (some 10 s)."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    child = chanwatch_child(
        ["demo", "--once", "--database", url], folder,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = child.communicate(timeout=DEMO_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, output
    return url


@pytest.fixture(scope="session")
def demo_app(demo_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    yield from _serve(demo_database, tmp_path_factory.mktemp("demo-web"))


@pytest.fixture
def logged_in_page(
    new_page: Callable[..., Page], request: pytest.FixtureRequest
) -> Callable[..., Page]:
    def make(role: str = "staff", app: ServedApp | None = None, **context_options: Any) -> Page:
        app = app or request.getfixturevalue("served_app")
        page = new_page(**context_options)
        log_in(page, app.base_url, app.users[role], app.password)
        assert page.url == app.url("/alerts"), page.url
        return page

    return make
