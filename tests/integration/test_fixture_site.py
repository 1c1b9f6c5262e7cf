"""The fixture site serves, pages, redirects and misbehaves as its model says (loopback only)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from PIL import Image as PILImage

from sandbox.site import (
    FixtureChannel,
    FixtureSite,
    Image,
    SiteModel,
    WebPage,
    bomb_image,
    challenge,
    image_of,
    numbered_posts,
    oversized_image,
    server_error,
    throttle,
)
from sandbox.site.traps import trap_posts, trap_site_model
from spiders.tme_parser import parse_channel_page
from tests.factories import GOLDEN

NOW = datetime(2024, 4, 1, tzinfo=UTC)
IDS = [i for i in range(1, 50) if i % 5]  # 40 posts, holes at multiples of 5

Scenario = Callable[[FixtureSite, aiohttp.ClientSession], Awaitable[None]]


def run(model: SiteModel, scenario: Scenario) -> FixtureSite:
    """Serve `model` on this test's own loop, run `scenario` against it, return the site."""

    async def main() -> FixtureSite:
        async with FixtureSite(model) as site, aiohttp.ClientSession() as session:
            await scenario(site, session)
        return site

    return asyncio.run(main())


def pager_model(**channel: object) -> SiteModel:
    model = SiteModel()
    model.add_channel(FixtureChannel("Pager", 4242, "Pager", posts=numbered_posts(IDS), **channel))
    return model


def test_pages_back_to_the_first_post_with_before() -> None:
    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        seen: list[int] = []
        url = site.url("/s/pager")
        while url:
            async with session.get(url) as response:
                assert response.status == 200
                assert response.content_type == "text/html"
                page = parse_channel_page(await response.text(), page_url=url, observed_at=NOW)
            assert 0 < len(page.posts) <= 20
            seen = [post.message_id for post in page.posts] + seen
            url = site.url(f"/s/pager?before={page.older_cursor}") if page.older_cursor else ""
        assert seen == IDS
        assert all(p.source.platform_id == "4242" for p in page.posts)

    site = run(pager_model(), scenario)
    assert [r.path_qs for r in site.requests] == ["/s/pager", "/s/pager?before=26"]
    assert site.beacon_hits == []


def test_pages_forward_with_after() -> None:
    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        url = site.url("/s/pager?after=3")
        async with session.get(url) as response:
            page = parse_channel_page(await response.text(), page_url=url, observed_at=NOW)
        assert [p.message_id for p in page.posts][:3] == [4, 6, 7]
        assert page.newer_cursor == page.posts[-1].message_id

    run(pager_model(), scenario)


def test_pages_without_more_link_still_carry_rel_prev() -> None:
    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        async with session.get(site.url("/s/pager")) as response:
            html = await response.text()
        assert "tme_messages_more" not in html and 'rel="prev"' in html

    run(pager_model(more_link=False), scenario)


def test_group_and_unknown_names_redirect_to_the_card() -> None:
    model = pager_model()
    model.add_channel(FixtureChannel("SomeGroup", 77, "A group", kind="group", subscribers="1 234"))

    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        for name in ("SomeGroup", "nobody_here"):
            async with session.get(site.url(f"/s/{name}"), allow_redirects=False) as response:
                assert response.status == 302
                assert response.headers["Location"] == f"/{name}"
        async with session.get(site.url("/s/SomeGroup")) as response:
            assert str(response.url) == site.url("/SomeGroup")
            assert "1 234 members" in await response.text()
        async with session.get(site.url("/nobody_here")) as response:
            assert "you can contact" in await response.text()

    run(model, scenario)


def test_faults_throttle_challenge_and_server_error() -> None:
    model = pager_model()
    model.faults += [
        throttle("/s/pager", 3, retry_after="7"),
        challenge("/s/challenged"),
        server_error("/broken"),
    ]

    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        statuses = []
        for _ in range(4):
            async with session.get(site.url("/s/pager")) as response:
                statuses.append(response.status)
                if response.status == 429:
                    assert response.headers["Retry-After"] == "7"
        assert statuses == [200, 200, 429, 200]
        async with session.get(site.url("/s/challenged")) as response:
            assert response.status == 403
            body = await response.text()
            assert "Just a moment" in body and "tgme_widget_message" not in body
        async with session.get(site.url("/broken")) as response:
            assert response.status == 503

    run(model, scenario)


@pytest.mark.parametrize(
    ("mode", "status", "text"),
    [
        ("allow", 200, "Allow: /"),
        ("disallow", 200, "Disallow: /"),
        ("error", 500, ""),
        ("missing", 404, ""),
    ],
)
def test_robots_variants(mode: str, status: int, text: str) -> None:
    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        async with session.get(site.url("/robots.txt")) as response:
            assert response.status == status
            assert text in await response.text()

    run(SiteModel(robots=mode), scenario)  # type: ignore[arg-type]


def test_images_real_oversized_bomb_lying_and_golden() -> None:
    golden = "bridge-mods/aaa-orig.jpg"
    model = SiteModel(
        images={
            "/img/ok.jpg": Image(width=80, height=60, seed=3),
            "/img/big.png": oversized_image(2_000_000),
            "/img/bomb.png": bomb_image(),
            "/img/lies.jpg": Image(kind="png", content_type="text/html"),
            "/img/golden.jpg": image_of((GOLDEN / golden).read_bytes()),
        }
    )

    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        async def fetch(path: str) -> tuple[bytes, str]:
            async with session.get(site.url(path)) as response:
                assert response.status == 200
                return await response.read(), response.headers["Content-Type"]

        body, content_type = await fetch("/img/ok.jpg")
        assert content_type == "image/jpeg"
        assert PILImage.open(io.BytesIO(body)).size == (80, 60)
        body, _ = await fetch("/img/big.png")
        assert len(body) >= 2_000_000
        body, _ = await fetch("/img/bomb.png")
        assert len(body) < 200_000
        with pytest.raises(PILImage.DecompressionBombError):
            PILImage.open(io.BytesIO(body))
        body, content_type = await fetch("/img/lies.jpg")
        assert content_type == "text/html" and body.startswith(b"\x89PNG")
        body, _ = await fetch("/img/golden.jpg")
        expected = (GOLDEN / golden).read_bytes()
        assert hashlib.sha256(body).digest() == hashlib.sha256(expected).digest()

    run(model, scenario)


def test_slow_response_is_held_until_released() -> None:
    model = SiteModel(pages={"/slow": WebPage("slow")}, delays={"/slow": 30.0})

    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        short = aiohttp.ClientTimeout(total=0.3)
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(site.url("/slow"), timeout=short):
                pass
        pending = asyncio.ensure_future(session.get(site.url("/slow")))
        site.release_slow()
        response = await asyncio.wait_for(pending, timeout=5)
        assert response.status == 200
        response.release()

    run(model, scenario)


def test_web_page_conditional_requests() -> None:
    model = SiteModel(
        pages={
            "/page": WebPage(
                "Watched",
                paragraphs=("hello",),
                images=("/img/x.jpg",),
                links=("https://example.org/",),
            )
        }
    )

    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        async with session.get(site.url("/page")) as response:
            assert response.status == 200
            etag, last_modified = response.headers["ETag"], response.headers["Last-Modified"]
            body = await response.text()
        assert "<p>hello</p>" in body and 'src="/img/x.jpg"' in body
        async with session.get(site.url("/page"), headers={"If-None-Match": etag}) as response:
            assert response.status == 304
        async with session.get(
            site.url("/page"), headers={"If-Modified-Since": last_modified}
        ) as response:
            assert response.status == 304
        site.model.pages["/page"] = WebPage("Watched", paragraphs=("changed",), etag='"v2"')
        async with session.get(site.url("/page"), headers={"If-None-Match": etag}) as response:
            assert response.status == 200
            assert "changed" in await response.text()

    run(model, scenario)


def test_redirects_and_request_recording() -> None:
    model = SiteModel(redirects={"/hop": "http://10.0.0.1/internal"})

    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        headers = {"User-Agent": "chanwatch-test"}
        async with session.get(
            site.url("/hop?x=1"), allow_redirects=False, headers=headers
        ) as response:
            assert response.status == 302
            assert response.headers["Location"] == "http://10.0.0.1/internal"
        async with session.post(site.url("/v/?views=abc")) as response:
            assert response.status == 200

    site = run(model, scenario)
    first, beacon = site.requests
    assert (first.method, first.path_qs, first.headers["User-Agent"]) == (
        "GET",
        "/hop?x=1",
        "chanwatch-test",
    )
    assert site.beacon_hits == [beacon] and beacon.method == "POST"


def test_trap_channel_and_its_media_are_served() -> None:
    async def scenario(site: FixtureSite, session: aiohttp.ClientSession) -> None:
        url = site.url("/s/TrapRoom")
        async with session.get(url) as response:
            page = parse_channel_page(await response.text(), page_url=url, observed_at=NOW)
        expected = sorted({i for post in trap_posts().values() for i in post.ids})
        assert [p.message_id for p in page.posts] == expected
        for media in page.media_urls:
            if media.role != "video":
                async with session.get(media.url) as response:
                    assert response.status == 200, media

    site = run(trap_site_model(), scenario)
    assert site.beacon_hits == []


def test_background_thread_mode_for_other_event_loops() -> None:
    with FixtureSite.start_in_thread(pager_model()) as site:
        assert site.base_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(site.url("/s/Pager?before=10"), timeout=10) as response:
            html = response.read().decode()
        page = parse_channel_page(html, page_url=site.url("/s/Pager"), observed_at=NOW)
        assert [p.message_id for p in page.posts] == [1, 2, 3, 4, 6, 7, 8, 9]
        assert [r.path_qs for r in site.requests] == ["/s/Pager?before=10"]
    with pytest.raises(OSError):
        urllib.request.urlopen(site.url("/s/Pager"), timeout=5)
