"""The XSS corpus (tests/browser/xss_corpus.py) in message texts, channel titles, post links,
reviewer names, rule names, bank names and labels, decision reasons, watchlist names, tags and
notes, and reflected in the queue's filters and the login form's `next`: rendered by Chromium,
every payload is shown as the text it is, and none of them acts.

"Acts" is checked four ways on every page: no element or attribute a payload carries is in the
DOM, `window.__xss` and the title are untouched, nothing a payload names was requested, and
(by the `new_page` fixture, on every page) no dialog opened, no CSP violation was reported, no
script error, no 5xx.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from crawler.web.text import shown
from tests.browser.harness import ServedApp
from tests.browser.pages import LOOPBACK_HOSTS, log_in, show_held, watch_of
from tests.browser.xss_corpus import DISPLAY_ONLY, PAYLOADS, SVG, seed_corpus

if TYPE_CHECKING:
    from playwright.sync_api import Page

TITLE_END = " · chanwatch review"
# After the page's queued tasks and a frame have run (an onerror, an htmx `load` trigger, a
# meta refresh all fire by then), what in the DOM came from a payload: elements the app never
# emits, event handler and style attributes, the attributes the breakout payloads add (`x`,
# `autofocus`), htmx attributes naming xss, and links or sources that are not http(s), or that
# point at an xss path or host.
_INSPECT = """async () => {
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const injected = [];
  const own = (el) =>
    (el.tagName === 'SCRIPT' && /^\\/static\\/[\\w.-]+\\.js$/.test(el.getAttribute('src') || '')
      && el.textContent === '')
    || (el.tagName === 'META' && !el.hasAttribute('http-equiv'));
  const badUrl = (value) => {
    let url;
    try { url = new URL(value, location.href); } catch { return false; }
    return !['http:', 'https:'].includes(url.protocol) || /xss/i.test(url.hostname)
      || (url.origin === location.origin && /xss/i.test(url.pathname));
  };
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toUpperCase();
    if (['SCRIPT', 'STYLE', 'IFRAME', 'SVG', 'IMG', 'META', 'BASE', 'OBJECT', 'EMBED',
         'NOSCRIPT', 'FRAME', 'FRAMESET'].includes(tag) && !own(el)) {
      injected.push(el.outerHTML.slice(0, 200));
    }
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (/^on/.test(name) || ['style', 'x', 'autofocus', 'srcdoc', 'http-equiv'].includes(name)
          || (/^(data-)?hx-/.test(name) && /xss/i.test(attr.value))
          || (['href', 'src', 'action', 'formaction', 'data'].includes(name)
              && badUrl(attr.value))) {
        injected.push(`<${el.tagName.toLowerCase()} ${attr.name}="${attr.value}">`);
      }
    }
  }
  const text = document.body.textContent;
  const raw = text.match(
    /[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f\\u200b-\\u200f\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff]/gu
  ) || [];
  return {injected, xss: window.__xss ?? null, title: document.title, text, raw,
          url: location.href};
}"""


def _visit(page: Page, url: str, *, ask: bool = False) -> None:
    page.goto(url)
    if ask:  # a critical alert's text and the source links wait until the reviewer asks
        show_held(page)


def _assert_inert(page: Page, expected: list[str], *, since: int) -> dict:
    """Nothing on `page` came from a payload and every string in `expected` is shown as the
    app neutralizes collected text (controls and bidi replaced, invisible characters named)."""
    found = page.evaluate(_INSPECT)
    where = found["url"]
    assert found["injected"] == [], where
    assert found["xss"] is None, where
    assert found["title"].endswith(TITLE_END), (found["title"], where)
    assert found["raw"] == [], where
    missing = [text for text in expected if shown(text) not in found["text"]]
    assert missing == [], where
    requested = watch_of(page).requests[since:]
    acted = [u for u in requested
             if "xss" in urlsplit(u).path.lower() or urlsplit(u).hostname not in LOOPBACK_HOSTS]
    assert acted == [], where
    assert watch_of(page).problems() == {}, where
    return found


def test_the_xss_corpus_renders_as_text_and_never_acts(
    served_app: ServedApp, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    seeded = seed_corpus(served_app, tmp_path)
    page = new_page()
    watch = watch_of(page)
    # Signed in as a reviewer whose name is a payload: the header shows it on every page.
    log_in(page, served_app.base_url, SVG, served_app.password)
    assert page.url == served_app.url("/alerts")

    mark = len(watch.requests)
    _visit(page, served_app.url("/alerts"))
    # Titles, rule and bank names, the claimed alerts' assignees.
    _assert_inert(page, list(PAYLOADS), since=mark)
    mark = len(watch.requests)
    _visit(page, served_app.url("/watchlists"))
    _assert_inert(page, list(PAYLOADS), since=mark)  # list names, tags, notes

    details = sorted({**seeded.keyword, **seeded.hashed}.items())
    on_sqlite = served_app.db_url.startswith("sqlite")
    # The pages are the same code over either database, and the queue and watchlists above
    # have shown every payload's round trip through PostgreSQL: there, a sample of the rest.
    for alert_id, index in details if on_sqlite else details[::4]:
        mark = len(watch.requests)
        # The hash match's item is its keyword alert's: its text and links are asked for once.
        _visit(page, served_app.url(f"/alerts/{alert_id}"), ask=alert_id in seeded.keyword)
        _assert_inert(page, [PAYLOADS[index], seeded.reviewers[index]], since=mark)

    fields = ("rule", "assignee", "source", "bank")
    for payload in PAYLOADS if on_sqlite else ():
        mark = len(watch.requests)
        _visit(page, served_app.url("/alerts?" + urlencode(dict.fromkeys(fields, payload))))
        _assert_inert(page, [], since=mark)
        for name in fields:  # reflected into value="…", and only there
            assert page.input_value(f"form.filters input[name={name}]") == payload


def test_a_hostile_next_on_the_login_form_stays_a_value(
    demo_app: ServedApp, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    hostile = "/alerts\"><svg/onload=window.__xss='next'>"
    _visit(page, demo_app.url("/login?" + urlencode({"next": hostile})))
    _assert_inert(page, [], since=0)
    assert page.locator("form.login input[name=next]").input_value() == hostile


UNESCAPED = ('<td>{0}</td>', '<input value="{0}">', "<input value='{0}'>", '<a href="{0}">x</a>')
"""The contexts the app puts collected text in, as a page that forgot to escape would."""


def test_the_checks_catch_every_payload_where_a_page_does_not_escape_it(
    new_page: Callable[..., Page],
) -> None:
    """The corpus test above could pass by checking nothing; here the same inspection runs on
    pages that paste each payload in raw, and must find every one that can act."""
    page = new_page()
    for payload in PAYLOADS:
        page.goto("about:blank")  # a fresh window: nothing left over from the last payload
        body = "".join(context.format(payload) for context in UNESCAPED)
        page.set_content(f"<!doctype html><title>raw{TITLE_END}</title><body>{body}</body>")
        found = page.evaluate(_INSPECT)
        caught = bool(found["injected"] or found["xss"] or found["raw"])
        assert caught == (payload not in DISPLAY_ONLY), (payload, found["injected"])
