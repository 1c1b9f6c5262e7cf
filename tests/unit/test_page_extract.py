"""What a watched page says: selected, cleaned, normalized text; typed links; image URLs."""

from __future__ import annotations

import pytest

from crawler.observations import LinkKind
from spiders.page_extract import OptionError, extract_page

PAGE = """<html><head><title> Hub  </title><script>var x = "<p>fake</p>";</script></head>
<body><nav>menu</nav><div id="main"><h1>Rooms</h1>
<p>새 방<b>열림</b> <span class="clock">12:00</span></p>
<a href="https://t.me/+AbCdEfGh12">join</a><a href="/about">about</a>
<a href="javascript:alert(1)">x</a><img src="/b.png"><img src="data:image/png;base64,AA=="></div>
<style>p { color: red }</style><noscript>enable js</noscript></body></html>"""


def test_scripts_styles_and_noscript_never_count_as_text() -> None:
    page = extract_page(PAGE, url="https://hub.example/list", options={})
    assert page.title == "Hub"
    assert page.text == "menu Rooms 새 방 열림 12:00 join about x"


def test_a_selector_narrows_the_watched_part_and_ignore_removes_noise() -> None:
    page = extract_page(
        PAGE, url="https://hub.example/list", options={"selector": "#main", "ignore": ".clock"}
    )
    assert page.text == "Rooms 새 방 열림 join about x"
    xpath = extract_page(PAGE, url="https://hub.example/", options={"xpath": "//h1"})
    assert xpath.text == "Rooms"


def test_links_are_typed_and_images_absolute_web_urls_only() -> None:
    page = extract_page(PAGE, url="https://hub.example/list", options={})
    assert [(link.kind, link.target) for link in page.links] == [
        (LinkKind.INVITE, "AbCdEfGh12"),
        (LinkKind.EXTERNAL, None),
    ]
    assert page.image_urls == ("https://hub.example/b.png",)


@pytest.mark.parametrize(
    "options", [{"selector": "div["}, {"xpath": "//*["}, {"ignore": 3}, {"selector": 1}]
)
def test_unusable_options_raise_option_error(options: dict) -> None:
    with pytest.raises(OptionError):
        extract_page(PAGE, url="https://hub.example/", options=options)
