"""The README's pictures of the review app, taken from the demo's synthetic Korean world.

Every run saves them under the test's tmp dir (outside the repository); with
CHANWATCH_UPDATE_SCREENSHOTS=1 they also replace docs/review-queue.png and
docs/review-alert.png:

    CHANWATCH_UPDATE_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_screenshots.py
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from tests.browser.harness import ServedApp
from tests.browser.pages import show_held
from tests.integration.alert_helpers import alerts

if TYPE_CHECKING:
    from playwright.sync_api import Page

DOCS = Path(__file__).resolve().parents[2] / "docs"
VIEWPORT = {"width": 1280, "height": 760}


def _disguised_keyword_alert(app: ServedApp) -> dict:
    """The demo's keyword alert on `겹<ZWSP>지인방`: a word hidden by a zero-width space, shown
    named in the text and highlighted where the rule matched."""
    found = [
        a for a in alerts(app.engine, kind="keyword")
        if any("\u200b" in (hit.get("matched_text") or "") for hit in a["evidence"]["hits"])
    ]  # fmt: skip
    assert found, "the demo world no longer hides a word with a zero-width space"
    return found[0]


def test_screenshots_of_the_queue_and_an_alert_for_the_readme(
    demo_app: ServedApp, logged_in_page: Callable[..., Page], tmp_path: Path
) -> None:
    page = logged_in_page("staff", demo_app, viewport=VIEWPORT, device_scale_factor=1)
    out = tmp_path / "screenshots"
    out.mkdir()

    page.goto(demo_app.url("/alerts"))
    page.screenshot(path=out / "review-queue.png")

    alert = _disguised_keyword_alert(demo_app)
    page.goto(demo_app.url(f"/alerts/{alert['id']}"))
    show_held(page, "text")  # a critical alert's text waits for the reviewer to ask
    assert "겹⟨ZWSP⟩지인방" in page.locator("pre.evidence mark").all_inner_texts()
    page.screenshot(path=out / "review-alert.png", full_page=True)

    for name in ("review-queue.png", "review-alert.png"):
        with Image.open(out / name) as picture:
            assert picture.width == VIEWPORT["width"] and picture.height >= VIEWPORT["height"]
            # Not a blank page: a page of text has thousands of distinct colours once
            # anti-aliased.
            assert len(picture.convert("RGB").getcolors(1 << 20) or ()) > 50
        if os.environ.get("CHANWATCH_UPDATE_SCREENSHOTS") == "1":
            DOCS.mkdir(exist_ok=True)
            shutil.copyfile(out / name, DOCS / name)
