"""RPC dispatch: unwrap, record, check authorisation and scheduled errors, run a handler.

Handlers (methods.py, account_methods.py) register with ``@handles``, run synchronously under
``World.lock`` (the world may be mutated from another thread) and return a TL object or raise
``RpcFailure``. Unknown methods answer an error that names them, so a test sees what is missing
instead of hanging.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from telethon.tl import TLObject, functions, types
from telethon.tl.tlobject import TLRequest

from .journal import Call, method_name
from .world import Channel, World

if TYPE_CHECKING:
    from .connection import KeyInfo, MTProtoConnection

WRAPPERS = (
    functions.InvokeWithLayerRequest,
    functions.InitConnectionRequest,
    functions.InvokeWithoutUpdatesRequest,
    functions.InvokeAfterMsgRequest,
    functions.InvokeAfterMsgsRequest,
    functions.InvokeWithTakeoutRequest,
    functions.InvokeWithMessagesRangeRequest,
)
# What an auth key that has not signed in may call; anything else is AUTH_KEY_UNREGISTERED.
UNAUTHORISED_OK = {
    "help.getConfig",
    "help.getNearestDc",
    "auth.sendCode",
    "auth.signIn",
    "auth.importAuthorization",
}


class RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def _unknown(name: str) -> RpcFailure:
    return RpcFailure(400, "FAKE_DC_METHOD_NOT_IMPLEMENTED_" + re.sub(r"\W", "_", name).upper())


# A handler returns a TL object, or a list for the bare Vector<T> results (users.getUsers).
Handler = Callable[["Methods", Any, "KeyInfo"], TLObject | list[TLObject]]
HANDLERS: dict[type, Handler] = {}


def handles(request_type: type) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[request_type] = handler
        return handler

    return register


def _channel_id_of(request: TLRequest) -> int | None:
    """The channel a request is about, so tests and error rules can filter by channel."""
    for attr in ("channel", "peer"):
        channel_id = getattr(getattr(request, attr, None), "channel_id", None)
        if channel_id is not None:
            return int(channel_id)
    ids = getattr(request, "id", None)
    if isinstance(request, functions.channels.GetChannelsRequest) and ids:
        return getattr(ids[0], "channel_id", None)
    return None


class Methods:
    """Per-DC dispatcher plus the state handlers share (sign-in codes, exported logins)."""

    def __init__(
        self,
        world: World,
        dc_id: int,
        port: Callable[[], int],
        internal_errors: list[BaseException],
    ) -> None:
        self.world = world
        self.internal_errors = internal_errors
        self.dc_id = dc_id
        self.port = port
        self.code_hashes: dict[str, str] = {}  # phone -> phone_code_hash sent by auth.sendCode
        self.exported: dict[bytes, int] = {}  # auth.exportAuthorization token -> user id

    def invoke(
        self,
        request: TLRequest,
        msg_id: int,
        info: KeyInfo,
        connection: MTProtoConnection,
        key_id: int,
        session_id: int,
        record: Callable[[Call], None],
    ) -> bytes:
        while isinstance(request, WRAPPERS):
            if isinstance(request, functions.InitConnectionRequest):
                connection.init_connection = request
            request = request.query
        if isinstance(request, (functions.PingRequest, functions.PingDelayDisconnectRequest)):
            # A wrapped ping (e.g. in invokeWithoutUpdates) is answered in rpc_result.
            return bytes(types.Pong(msg_id, request.ping_id))
        name = method_name(request)
        channel_id = _channel_id_of(request)
        record(
            Call(
                name,
                request,
                connection.id,
                key_id,
                session_id,
                channel_id,
                info.user_id,
                connection.init_connection,
            )
        )
        try:
            with self.world.lock:
                if info.user_id is None and name not in UNAUTHORISED_OK:
                    raise RpcFailure(401, "AUTH_KEY_UNREGISTERED")
                rule = self.world.scheduled_error(
                    name, channel_id, getattr(request, "username", None)
                )
                if rule is not None:
                    raise RpcFailure(rule.code, rule.error)
                handler = HANDLERS.get(type(request))
                if handler is None:
                    raise _unknown(name)
                result = handler(self, request, info)
                return serialize_vector(result) if isinstance(result, list) else bytes(result)
        except RpcFailure as failure:
            return bytes(types.RpcError(failure.code, failure.message))
        except Exception as e:  # a bug in the fake: answer (no hang) and make the test fail
            self.internal_errors.append(e)
            return bytes(types.RpcError(500, f"FAKE_DC_INTERNAL_ERROR_{type(e).__name__}"))

    # -- helpers ----------------------------------------------------------------------------

    def channel(self, input_channel: TLObject, *, content: bool = True) -> Channel:
        """Look up an InputChannel/InputPeerChannel as Telegram would validate it."""
        channel_id = getattr(input_channel, "channel_id", None)
        if channel_id is None:
            raise RpcFailure(400, "PEER_ID_INVALID")
        channel = self.world.channels.get(channel_id)
        if channel is None or channel.access_hash != input_channel.access_hash:
            raise RpcFailure(400, "CHANNEL_INVALID")
        if content and channel.private:
            raise RpcFailure(400, "CHANNEL_PRIVATE")
        return channel

    def account(self, info: KeyInfo) -> types.User:
        for account in self.world.accounts.values():
            if account.id == info.user_id:
                return account.tl(is_self=True)
        raise RpcFailure(401, "AUTH_KEY_UNREGISTERED")

    @staticmethod
    def channel_messages(
        channel: Channel, messages: list[TLObject]
    ) -> types.messages.ChannelMessages:
        return types.messages.ChannelMessages(
            pts=channel.pts,
            count=len(channel.messages),
            messages=messages,
            topics=[],
            chats=[channel.tl()],
            users=[],
        )


def serialize_vector(items: list[TLObject]) -> bytes:
    """Vector<T> results (users.getUsers) are bare lists in Telethon, not TL objects."""
    return struct.pack("<Ii", 0x1CB5C415, len(items)) + b"".join(bytes(x) for x in items)
