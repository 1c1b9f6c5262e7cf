"""What the fake DC received, so tests can assert on the collector's behaviour."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from telethon.tl import functions
from telethon.tl.tlobject import TLRequest


def method_name(request: TLRequest) -> str:
    """The TL schema name, e.g. ``contacts.resolveUsername`` for ResolveUsernameRequest."""
    module = type(request).__module__.rsplit(".", 1)[-1]
    name = type(request).__name__.removesuffix("Request")
    name = name[0].lower() + name[1:]
    return name if module == "functions" else f"{module}.{name}"


@dataclass(frozen=True)
class Call:
    """One RPC as the server saw it, after unwrapping invokeWithLayer/initConnection."""

    method: str
    request: TLRequest
    connection_id: int
    auth_key_id: int
    session_id: int
    channel_id: int | None
    # The account the auth key was signed in as, None while unauthorised.
    user_id: int | None
    # The connection's initConnection (api_id, device_model, app_version...), if it sent one.
    init: functions.InitConnectionRequest | None = None


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self, method: str | None = None, *, channel_id: int | None = None) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self._calls
                if (method is None or c.method == method)
                and (channel_id is None or c.channel_id == channel_id)
            ]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self._calls]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
