"""The review app under test: a real aiohttp server on an ephemeral loopback port (aiohttp's
TestServer) over the test database, users made with the real `chanwatch users add`."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from crawler.settings import Settings
from crawler.web import create_app
from crawler.web.app import COOKIE
from tests.integration.cli_runner import PASSWORD

T = TypeVar("T")
KEY = bytes(range(32))
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def app_for(engine: Engine, settings: Settings | None = None) -> Any:
    return create_app(engine, settings or Settings(), session_key=KEY, secure_cookies=False)


def serve(
    engine: Engine, scenario: Callable[[TestClient], Awaitable[T]], settings: Settings | None = None
) -> T:
    """Run `scenario(client)` against the app served on 127.0.0.1."""

    async def main() -> T:
        async with TestClient(TestServer(app_for(engine, settings), host="127.0.0.1")) as client:
            return await scenario(client)

    return asyncio.run(main())


async def csrf_token(client: TestClient, path: str = "/login") -> str:
    response = await client.get(path)
    found = _TOKEN.search(await response.text())
    assert found, f"no csrf_token on {path}"
    return found.group(1)


async def login(
    client: TestClient, name: str, password: str = PASSWORD, next_url: str | None = None
) -> ClientResponse:
    token = await csrf_token(client)
    data = {"username": name, "password": password, "csrf_token": token}
    if next_url is not None:
        data["next"] = next_url
    return await client.post("/login", data=data, allow_redirects=False)


def cookie_value(client: TestClient) -> str | None:
    for cookie in client.session.cookie_jar:
        if cookie.key == COOKIE:
            return cookie.value
    return None


def session_id_in(cookie: str) -> str | None:
    """The id the encrypted cookie carries (the test knows the key)."""
    fernet = Fernet(base64.urlsafe_b64encode(KEY))
    data = json.loads(fernet.decrypt(cookie.encode()).decode())
    return (data.get("session") or {}).get("sid")
