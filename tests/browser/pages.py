"""The browser side: Debian's Chromium launched by Playwright (never a browser of its own), and
pages that record everything a test wants to be sure did not happen.

`Watch` collects, per page: dialogs (dismissed), CSP violations (the `securitypolicyviolation`
event through an init script, and Chromium's console lines about the Content Security Policy),
uncaught page errors, responses of 500 and above, and every request to anything but
loopback (which `launch` keeps from leaving the machine). `Watch.assert_clean()` fails on any
of them; the `new_page` fixture calls it after every test.
"""

from __future__ import annotations

import os
import socket
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # Playwright itself is imported by conftest.py, which skips without it
    from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Request

CHROMIUM = Path("/usr/lib/chromium/chromium")
"""Debian's binary itself, not /usr/bin/chromium: that wrapper script adds flags of its own."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_LAUNCH_ARGS = (
    # Nothing leaves loopback, pages' requests nor the browser's own (Chromium still asks for
    # component updates and Google accounts with Playwright's flags): every name resolves to
    # nothing, and whatever is not loopback (which Chromium never proxies) goes to a proxy
    # port on 127.0.0.1 where nothing listens.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:{closed_port}",
    "--no-pings",
    "--disable-domain-reliability",
    "--disable-sync",
)
_CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.__chanwatchCsp(JSON.stringify({
    directive: event.violatedDirective, blocked: event.blockedURI, sample: event.sample,
    source: event.sourceFile, line: event.lineNumber, page: document.location.href,
  }));
}, true);
"""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(playwright: Any) -> Browser:
    """Debian's Chromium, headless, without its sandbox (the tests run as root)."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    args = [arg.format(closed_port=_closed_port()) for arg in _LAUNCH_ARGS]
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, chromium_sandbox=False, args=args
    )


@dataclass
class Watch:
    dialogs: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    off_loopback: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Every URL the page asked for, in order (loopback or not)."""

    def problems(self) -> dict[str, list[str]]:
        found = {
            "dialogs": self.dialogs, "CSP violations": self.csp_violations,
            "page errors": self.page_errors, "server errors": self.server_errors,
            "requests off loopback": self.off_loopback,
        }  # fmt: skip
        return {name: items for name, items in found.items() if items}

    def assert_clean(self) -> None:
        assert not self.problems(), self.problems()


_WATCHES: weakref.WeakKeyDictionary[Page, Watch] = weakref.WeakKeyDictionary()


def watch_of(page: Page) -> Watch:
    """What `page` (made by `new_watched_context`, e.g. through `new_page`) has recorded."""
    return _WATCHES[page]


def new_watched_context(browser: Browser, **options: Any) -> tuple[BrowserContext, Watch]:
    """A fresh context (cookies, storage) whose every page reports to one `Watch`."""
    watch = Watch()
    context = browser.new_context(**{"locale": "ko-KR", "timezone_id": "Asia/Seoul", **options})
    context.set_default_timeout(15_000)
    context.expose_function("__chanwatchCsp", lambda report: watch.csp_violations.append(report))
    context.add_init_script(_CSP_REPORTER)

    def on_request(request: Request) -> None:
        # Recorded, not intercepted (routing would turn the HTTP cache off); launch() has
        # made sure such a request cannot leave the machine.
        watch.requests.append(request.url)
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob", "about") and parts.hostname not in LOOPBACK_HOSTS:
            watch.off_loopback.append(request.url)

    context.on("request", on_request)

    def on_page(page: Page) -> None:
        _WATCHES[page] = watch

        def on_dialog(dialog: Dialog) -> None:
            watch.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        page.on("console", lambda message: (
            watch.csp_violations.append(message.text)
            if "Content Security Policy" in message.text else None
        ))  # fmt: skip
        page.on("response", lambda response: (
            watch.server_errors.append(f"{response.status} {response.url}")
            if response.status >= 500 else None
        ))  # fmt: skip

    context.on("page", on_page)
    return context, watch


def log_in(page: Page, base_url: str, name: str, password: str) -> None:
    """Through the form, as a person would: /login, both fields, the button."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_load_state()


HELD = {
    "text": "form[action$='/read'] button[type=submit]",
    "links": "form[action$='/reveal'] button[type=submit]",
}
"""What an alert page may hold back until the reviewer asks (a critical alert's text, source
links): the button that asks."""


def show_held(page: Page, *which: str) -> None:
    """Ask for what the alert page holds back (`which`: keys of HELD; default all), where it
    holds something back; each ask reloads the page."""
    for name in which or tuple(HELD):
        button = page.locator(HELD[name])
        if button.count():
            with page.expect_navigation():
                button.first.click()
