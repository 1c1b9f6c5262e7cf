"""The fixture site: an aiohttp server on 127.0.0.1 (ephemeral port) serving a `SiteModel`.

    async with FixtureSite(model) as site:          # on the test's event loop
        fetch(site.url("/s/roomwatch"))

    with FixtureSite.start_in_thread(model) as site:  # for Scrapy, which runs its own reactor
        ...

Every request is recorded (method, path, query, headers) before anything else happens, so a
test can assert what was fetched, and that the `/v/` view beacon never was.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiohttp import web

from sandbox.site.images import image_bytes
from sandbox.site.model import Fault, SiteModel, WebPage
from sandbox.site.pages import (
    CHALLENGE_PAGE,
    http_date,
    render_channel_page,
    render_landing_page,
    render_web_page,
)

# A "slow" response never holds a test longer than this, even if nobody releases it.
MAX_DELAY_SECONDS = 30.0
_ROBOTS = {"allow": "User-agent: *\nAllow: /\n", "disallow": "User-agent: *\nDisallow: /\n"}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]

    @property
    def path_qs(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


class FixtureSite:
    def __init__(self, model: SiteModel, *, host: str = "127.0.0.1") -> None:
        self.model = model
        self.host = host
        self.base_url = ""
        self._requests: list[RecordedRequest] = []
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://{self.host}:{sock.getsockname()[1]}"

    async def close(self) -> None:
        if self._release is not None:
            self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @classmethod
    def start_in_thread(cls, model: SiteModel, *, host: str = "127.0.0.1") -> FixtureSite:
        """Serve `model` from a background thread with its own event loop; `stop()` ends it.

        `host` is a loopback address (127.0.0.2 …): SSRF tests serve canaries on another
        address than the fixtures, so the allow-list admits one and not the other.
        """
        site = cls(model, host=host)
        ready = threading.Event()
        failures: list[BaseException] = []

        async def serve() -> None:
            site._stopping = asyncio.Event()
            try:
                await site.start()
            except BaseException as exc:
                failures.append(exc)
                ready.set()
                raise
            ready.set()
            await site._stopping.wait()
            await site.close()

        site._thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
        site._thread.start()
        if not ready.wait(timeout=30) or failures:
            raise RuntimeError("fixture site did not start") from (failures or [None])[0]
        return site

    def stop(self) -> None:
        if self._thread is None or self._loop is None or self._stopping is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def release_slow(self) -> None:
        """Let every held (slow) response complete now, and later ones answer at once.

        Safe to call from any thread; closing the site releases them too.
        """
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    # -- what happened -----------------------------------------------------------------------

    def url(self, path_qs: str) -> str:
        return f"{self.base_url}{path_qs}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def beacon_hits(self) -> list[RecordedRequest]:
        """Requests to the view beacon: a crawler that is not a viewer never makes one."""
        return [r for r in self.requests if r.path == "/v" or r.path.startswith("/v/")]

    # -- serving -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        with self._lock:
            self._requests.append(
                RecordedRequest(request.method, path, request.query_string, dict(request.headers))
            )
            self._counts[path] += 1
            self._counts["*"] += 1
            counts = {path: self._counts[path], "*": self._counts["*"]}
        delay = self.model.delays.get(path)
        if delay and self._release is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), min(delay, MAX_DELAY_SECONDS))
        fault = next((f for f in self.model.faults if _hits(f, path, counts)), None)
        if fault is not None:
            return _fault_response(fault)
        return self._route(request)

    def _route(self, request: web.Request) -> web.StreamResponse:
        path, model = request.path, self.model
        if path == "/robots.txt":
            return _robots(model.robots)
        if path == "/v" or path.startswith("/v/"):
            return web.json_response(True)
        if path in model.redirects:
            return web.Response(status=302, headers={"Location": model.redirects[path]})
        if path in model.images:
            body, content_type = image_bytes(model.images[path])
            return web.Response(body=body, headers={"Content-Type": content_type})
        if path in model.pages:
            return _web_page(request, model.pages[path])
        if path in model.raw_pages:
            return _html(model.raw_pages[path])
        segments = [segment for segment in path.split("/") if segment]
        if len(segments) == 2 and segments[0] == "s":
            return self._preview(request, segments[1])
        if len(segments) == 1:
            channel = model.channels.get(segments[0].lower())
            return _html(render_landing_page(segments[0], channel))
        return web.Response(status=404, text="Not Found")

    def _preview(self, request: web.Request, name: str) -> web.StreamResponse:
        channel = self.model.channels.get(name.lower())
        if channel is None or channel.kind != "channel":
            # t.me has no preview for groups or unknown names and sends the visitor to the card.
            return web.Response(status=302, headers={"Location": f"/{name}"})
        html = render_channel_page(
            channel,
            base_url=self.base_url,
            before=_cursor(request.query.get("before")),
            after=_cursor(request.query.get("after")),
        )
        return _html(html)


def _hits(fault: Fault, path: str, counts: Mapping[str, int]) -> bool:
    if fault.path not in (path, "*"):
        return False
    return fault.on_requests is None or counts[fault.path] in fault.on_requests


def _fault_response(fault: Fault) -> web.Response:
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
    body = CHALLENGE_PAGE if fault.challenge else f"<html><body>{fault.status}</body></html>"
    return web.Response(status=fault.status, text=body, content_type="text/html", headers=headers)


def _robots(mode: str) -> web.Response:
    if mode == "error":
        return web.Response(status=500, text="Internal Server Error")
    if mode == "missing":
        return web.Response(status=404, text="Not Found")
    return web.Response(text=_ROBOTS[mode], content_type="text/plain")


def _web_page(request: web.Request, page: WebPage) -> web.Response:
    headers: dict[str, str] = {}
    if page.etag:
        headers["ETag"] = page.etag
    last_modified = http_date(page)
    if last_modified:
        headers["Last-Modified"] = last_modified
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        fresh = page.etag is not None and page.etag in {t.strip() for t in if_none_match.split(",")}
    else:
        since = request.if_modified_since
        fresh = bool(
            since and page.last_modified and page.last_modified.replace(microsecond=0) <= since
        )
    if fresh:
        return web.Response(status=304, headers=headers)
    return web.Response(text=render_web_page(page), content_type="text/html", headers=headers)


def _html(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/html", charset="utf-8")


def _cursor(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 19 else None
