"""Make it impossible for Telethon (or anything else in the test process) to reach Telegram.

Telethon falls back to a built-in DC address when a session has none, and caches the
``help.getConfig`` answer (with every DC's address) on the client class for the whole process,
so a stale config from an earlier test could send a later one to a real IP. The guard points the
built-in address at loopback, clears that cache, and refuses any non-loopback ``connect``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

from telethon.client import telegrambaseclient


class RealNetworkAccessError(RuntimeError):
    """Not an OSError on purpose: Telethon retries OSErrors quietly, this must surface."""


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths never leave the machine
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # an unresolved host name: could be anywhere


def reset_config_cache() -> None:
    """Forget the help.getConfig answer Telethon caches on TelegramBaseClient and subclasses."""
    pending = [telegrambaseclient.TelegramBaseClient]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for attr in ("_config", "_cdn_config"):
            if attr in vars(cls):
                setattr(cls, attr, None)


@contextlib.contextmanager
def no_real_telegram(default_port: int = 9) -> Iterator[list[Any]]:
    """Yield a list that collects every refused address (it should stay empty).

    ``default_port`` is where a session without an address would go: pass a FakeDC's port to
    send such a client to the fake, the default (discard) makes it fail fast on loopback.
    """
    refused: list[Any] = []
    saved = (
        telegrambaseclient.DEFAULT_IPV4_IP,
        telegrambaseclient.DEFAULT_IPV6_IP,
        telegrambaseclient.DEFAULT_PORT,
    )
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            refused.append(address)
            # Callers such as socket.create_connection only close the socket on OSError.
            sock.close()
            raise RealNetworkAccessError(f"test tried to connect to {address!r}")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    telegrambaseclient.DEFAULT_IPV4_IP = "127.0.0.1"
    telegrambaseclient.DEFAULT_IPV6_IP = "::1"
    telegrambaseclient.DEFAULT_PORT = default_port
    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    reset_config_cache()
    try:
        yield refused
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        (
            telegrambaseclient.DEFAULT_IPV4_IP,
            telegrambaseclient.DEFAULT_IPV6_IP,
            telegrambaseclient.DEFAULT_PORT,
        ) = saved
        reset_config_cache()
