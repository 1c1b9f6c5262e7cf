"""The fake data center: an asyncio TCP server on 127.0.0.1 that unmodified Telethon talks to.

    async with FakeDC(world) as dc:
        client = TelegramClient(StringSession(dc.string_session()), api_id=1, api_hash="x")

or, for a collector running in another thread or process, ``FakeDC.start_in_thread(world)``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import struct
import threading
from types import TracebackType

from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl.tlobject import TLRequest

from . import account_methods, methods  # noqa: F401  (importing registers the handlers)
from .connection import KeyInfo, MTProtoConnection, SessionState, serve_connection
from .handshake import server_rsa_key
from .journal import Call, Journal
from .rpc import Methods
from .world import Account, World

HOST = "127.0.0.1"


class FakeDCError(AssertionError):
    """The fake DC itself failed while serving; the test cannot be trusted."""


class FakeDC:
    """Serves ``world`` on 127.0.0.1 (an ephemeral port unless ``port`` is given).

    Auth keys (from the key exchange or ``string_session``) and what each connection called
    (``calls``) live on the instance; the world may change while it serves.
    """

    def __init__(self, world: World, *, port: int = 0) -> None:
        self.world = world
        self.dc_id = world.dc_id
        self.journal = Journal()
        self.internal_errors: list[BaseException] = []
        self._requested_port = port
        self._port: int | None = None
        self._lock = threading.Lock()
        self._keys: dict[int, KeyInfo] = {}
        self._sessions: dict[tuple[int, int], SessionState] = {}
        self._key_users: dict[int, dict[int, int]] = {}
        self.concurrent_key_use: list[tuple[int, int, int]] = []
        """(key id, session id, other session id) for every time two clients (two session
        ids, two connections open at once) used one auth key: what gets Telegram to revoke it."""
        self._connection_ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._methods = Methods(world, self.dc_id, lambda: self.port, self.internal_errors)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        # Generate and register the RSA key before any client can ask for it.
        server_rsa_key()
        self._server = await asyncio.start_server(self._accept, HOST, self._requested_port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Closing the sockets ends each connection's read with EOF; cancelling the tasks
            # instead would make asyncio log the cancellation as an error (Python 3.11).
            for writer in self._open.values():
                writer.close()
            await asyncio.gather(*self._open, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self.internal_errors:
            raise FakeDCError(f"the fake DC failed while serving: {self.internal_errors!r}")

    async def __aenter__(self) -> FakeDC:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @classmethod
    def start_in_thread(cls, world: World, *, port: int = 0) -> ThreadedFakeDC:
        """Serve from a background thread with its own event loop (for a collector that runs
        its own loop, or in a subprocess: hand it ``string_session()``)."""
        return ThreadedFakeDC(cls(world, port=port))

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDC is not started")
        return self._port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open[task] = writer
        try:
            await serve_connection(self, next(self._connection_ids), reader, writer)
        finally:
            del self._open[task]

    # -- sessions for clients -----------------------------------------------------------------

    def string_session(
        self,
        auth_key: bytes | None = None,
        *,
        account: Account | None = None,
        authorized: bool = True,
    ) -> str:
        """A StringSession text for this DC with a pre-shared auth key, signed in as
        ``account`` (the world's default account unless ``authorized=False``)."""
        key = auth_key if auth_key is not None else os.urandom(256)
        if len(key) != 256:
            raise ValueError("StringSession stores exactly 256 key bytes")
        info = self.register_key(AuthKey(key), salt=struct.unpack("<q", os.urandom(8))[0])
        if authorized:
            info.user_id = (account or self.world.me).id
        session = StringSession()
        session.set_dc(self.dc_id, HOST, self.port)
        session.auth_key = info.auth_key
        return session.save()

    def new_session(self) -> StringSession:
        """A session pointing at this DC without a key: the client runs the key exchange."""
        session = StringSession()
        session.set_dc(self.dc_id, HOST, self.port)
        return session

    @staticmethod
    def rsa_public_pem() -> bytes:
        """The server's RSA key, to ``telethon.crypto.rsa.add_key`` in a client subprocess that
        must do the key exchange itself (already registered in this process)."""
        return server_rsa_key().public_pem

    # -- state shared with the connections ----------------------------------------------------

    def register_key(self, auth_key: AuthKey, salt: int) -> KeyInfo:
        with self._lock:
            info = KeyInfo(auth_key, salt)
            self._keys[auth_key.key_id] = info
            return info

    def key_info(self, key_id: int) -> KeyInfo | None:
        with self._lock:
            return self._keys.get(key_id)

    def forget_key(self, auth_key_id: int) -> None:
        """Make the DC answer -404 for this key, like Telegram for a revoked session."""
        with self._lock:
            self._keys.pop(auth_key_id, None)

    def note_key_use(self, connection_id: int, key_id: int, session_id: int) -> None:
        with self._lock:
            users = self._key_users.setdefault(key_id, {})
            for other_connection, other_session in users.items():
                if other_connection != connection_id and other_session != session_id:
                    self.concurrent_key_use.append((key_id, session_id, other_session))
            users[connection_id] = session_id

    def connection_closed(self, connection_id: int) -> None:
        with self._lock:
            for users in self._key_users.values():
                users.pop(connection_id, None)

    def session(self, key_id: int, session_id: int) -> SessionState:
        with self._lock:
            return self._sessions.setdefault((key_id, session_id), SessionState())

    def invoke(
        self,
        request: TLRequest,
        msg_id: int,
        connection: MTProtoConnection,
        key_id: int,
        session_id: int,
    ) -> bytes:
        info = self.key_info(key_id)
        assert info is not None  # the connection looked it up for this very message
        return self._methods.invoke(
            request, msg_id, info, connection, key_id, session_id, self.journal.record
        )

    # -- what was received --------------------------------------------------------------------

    def calls(self, method: str | None = None, *, channel_id: int | None = None) -> list[Call]:
        """Recorded RPCs, optionally only ``method`` (TL name, e.g. ``messages.getHistory``)."""
        return self.journal.calls(method, channel_id=channel_id)


class ThreadedFakeDC:
    """A FakeDC running on its own thread and event loop; use as a context manager."""

    def __init__(self, dc: FakeDC) -> None:
        self.dc = dc
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop_error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-telegram-dc", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await self.dc.start()
        except BaseException as e:
            self._startup_error = e
            self._ready.set()
            return
        self._ready.set()
        await self._stopping.wait()
        try:
            await self.dc.stop()
        except FakeDCError as e:
            self._stop_error = e

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join()
        if self._stop_error is not None:
            raise self._stop_error

    def __enter__(self) -> FakeDC:
        return self.dc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
