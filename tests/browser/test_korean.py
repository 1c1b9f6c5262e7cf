"""Korean collected text renders as Korean, not as tofu (the boxes a browser draws for
characters no installed font has: every missing character gets the same box).

Two proofs on the queue of the demo's Korean world: two different syllables of a room's title,
cut out of a screenshot of the page, are different pictures (two tofu boxes are the same
picture); and a Korean string is as wide as
Hangul set in a CJK font, not as wide as the same number of U+E000 (a private-use character no
font has, so certainly tofu) in the same font.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from tests.browser.harness import ServedApp

if TYPE_CHECKING:
    from playwright.sync_api import Page

HANGUL = "[\\uac00-\\ud7a3]"
# The first collected cell holding two different Hangul syllables, and the box of each.
_TWO_SYLLABLES = f"""() => {{
  const hangul = /{HANGUL}/u;
  for (const cell of document.querySelectorAll('td.collected')) {{
    const node = Array.from(cell.childNodes).find((n) => n.nodeType === Node.TEXT_NODE);
    if (!node) continue;
    const text = node.data;  // indexed in UTF-16 units, as ranges are; Hangul is one unit
    const units = text.split('');
    const first = units.findIndex((c) => hangul.test(c));
    if (first < 0) continue;
    const second = units.findIndex((c) => hangul.test(c) && c !== text[first]);
    if (second < 0) continue;
    const box = (i) => {{
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const r = range.getBoundingClientRect();
      return {{x: r.x, y: r.y, width: r.width, height: r.height}};
    }};
    cell.id = 'korean-under-test';
    return {{text, chars: [text[first], text[second]], boxes: [box(first), box(second)]}};
  }}
  return null;
}}"""
_WIDTHS = f"""(selector) => {{
  const cell = document.querySelector(selector);
  const korean = Array.from(cell.textContent).filter((c) => /{HANGUL}/u.test(c)).join('');
  const context = document.createElement('canvas').getContext('2d');
  context.font = getComputedStyle(cell).font;
  const width = (text) => context.measureText(text).width;
  return {{
    korean, font: context.font, em: parseFloat(getComputedStyle(cell).fontSize),
    korean_width: width(korean), tofu_width: width('\\ue000'.repeat(korean.length)),
  }};
}}"""


def _glyph(page: Page, box: dict[str, float]) -> Image.Image:
    clip = {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}
    return Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("L")


def _ink_by_row(glyph: Image.Image) -> np.ndarray:
    """How much darker than the background each pixel row of a glyph is. Row sums do not
    change when a glyph sits a fraction of a pixel further right (anti-aliasing spreads the
    same ink over the neighbouring column), so the same shape gives the same profile wherever
    it was drawn on the line, and a different shape a different one."""
    pixels = np.asarray(glyph, dtype=float)
    return (pixels.max() - pixels).sum(axis=1)


def _fonts(page: Page, selector: str) -> list[dict[str, Any]]:
    """The platform fonts Chromium drew `selector`'s text with (for the failure message)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()


def test_korean_titles_in_the_queue_render_as_real_glyphs_not_tofu(
    demo_app: ServedApp, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("investigator", demo_app, device_scale_factor=2)
    found = page.evaluate(_TWO_SYLLABLES)
    assert found, "no queue cell holds two different Hangul syllables"
    fonts = _fonts(page, "#korean-under-test")
    why = f"{found['text']!r} drawn with {fonts}"

    one, two = (_ink_by_row(_glyph(page, box)) for box in found["boxes"])
    assert one.sum() > 0 and two.sum() > 0, f"a syllable drew nothing: {why}"
    rows = min(len(one), len(two))
    unlike = np.abs(one[:rows] - two[:rows]).sum() / max(one.sum(), two.sum())
    # Two tofu boxes measure ~0.01 here (sub-pixel placement only), 합 and 성 ~0.45.
    assert unlike > 0.15, f"{found['chars']} look alike ({unlike:.3f}): {why}"

    widths = page.evaluate(_WIDTHS, "#korean-under-test")
    # Hangul in a CJK font is one em a syllable; a tofu box is narrower, and every box alike.
    assert abs(widths["korean_width"] - widths["tofu_width"]) > 0.1 * widths["tofu_width"], (
        widths, why,
    )  # fmt: skip
    per_syllable = widths["korean_width"] / len(widths["korean"])
    assert 0.85 * widths["em"] <= per_syllable <= 1.15 * widths["em"], (widths, why)
