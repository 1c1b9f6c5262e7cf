"""The review app served from a thread of its own, for the demo: the demo's main thread keeps
the world changing and crawling while reviewers look at what it raised."""

from __future__ import annotations

import asyncio
import secrets
import threading
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import Engine

from crawler.access import hash_password
from crawler.errors import UserError
from crawler.settings import Settings
from crawler.web import create_app
from storage import user_store

DEMO_USER = "demo"


def demo_login(engine: Engine) -> str:
    """A staff user `demo` with a fresh random password (returned, shown once); the demo's
    database is re-created on every run, so the user is new each time."""
    password = secrets.token_urlsafe(12)
    with engine.begin() as conn:
        user_store.add_user(conn, DEMO_USER, "staff", hash_password(password), datetime.now(UTC))
    return password


class ReviewAppThread:
    """`create_app` on 127.0.0.1:`port` (0: any free port) until `stop()`."""

    def __init__(self, engine: Engine, settings: Settings, port: int = 0) -> None:
        self._app = create_app(
            engine, settings, session_key=secrets.token_bytes(32), secure_cookies=False
        )
        self._port, self.port = port, 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="review-app", daemon=True)
        self._thread.start()
        self._ready.wait()
        if isinstance(self._error, OSError):
            message = self._error.strerror or self._error
            raise UserError(f"cannot serve the review app on 127.0.0.1:{port}: {message}")
        if self._error is not None:
            raise self._error

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = stop = asyncio.Event()
        # No access log: query strings carry filters typed from collected text.
        runner = web.AppRunner(self._app, access_log=None)
        try:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self._port).start()
            self.port = runner.addresses[0][1]
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            await runner.cleanup()
            return
        self._ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._stop_event is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop_event.set)
        self._thread.join()
