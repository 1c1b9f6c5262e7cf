"""RPC method handlers: what the fake DC answers to each request, built from the World.

Handlers run synchronously under ``World.lock`` (the world may be mutated from another thread)
and either return a TL object or raise ``RpcFailure``. Unknown methods answer an error that
names them, so a test sees what is missing instead of hanging.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from telethon.tl import TLObject, functions, types
from telethon.tl.tlobject import TLRequest

from .journal import Call, method_name
from .world import USERNAME_RE, Channel, World

if TYPE_CHECKING:
    from .connection import KeyInfo, MTProtoConnection

MIB = 1024 * 1024
HISTORY_LIMIT_MAX = 100
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


Handler = Callable[["Methods", TLRequest, "KeyInfo"], TLObject]
HANDLERS: dict[type, Handler] = {}


def handles(request_type: type) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[request_type] = handler
        return handler

    return register


def _channel_id_of(request: TLRequest) -> int | None:
    for attr in ("channel", "peer"):
        channel_id = getattr(getattr(request, attr, None), "channel_id", None)
        if channel_id is not None:
            return int(channel_id)
    ids = getattr(request, "id", None)
    if isinstance(request, functions.channels.GetChannelsRequest) and ids:
        return getattr(ids[0], "channel_id", None)
    return None


class Methods:
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
        self._port = port
        self._code_hashes: dict[str, str] = {}
        self._exported: dict[bytes, int] = {}

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
        record(Call(name, request, connection.id, key_id, session_id, channel_id, info.user_id))
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


# -- help and updates -----------------------------------------------------------------------


@handles(functions.help.GetConfigRequest)
def get_config(m: Methods, request: functions.help.GetConfigRequest, info: KeyInfo) -> TLObject:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Every DC Telethon might look up is this server, so no code path can leave loopback.
    options = [types.DcOption(id=i, ip_address="127.0.0.1", port=m._port()) for i in range(1, 6)]
    return types.Config(
        date=now, expires=now + dt.timedelta(hours=1), test_mode=False, this_dc=m.dc_id,
        dc_options=options, dc_txt_domain_name="fake.invalid", chat_size_max=200,
        megagroup_size_max=200000, forwarded_count_max=100, online_update_period_ms=210000,
        offline_blur_timeout_ms=5000, offline_idle_timeout_ms=30000,
        online_cloud_timeout_ms=300000, notify_cloud_delay_ms=30000,
        notify_default_delay_ms=1500, push_chat_period_ms=60000, push_chat_limit=2,
        edit_time_limit=172800, revoke_time_limit=2147483647,
        revoke_pm_time_limit=2147483647, rating_e_decay=2419200, stickers_recent_limit=200,
        channels_read_media_period=604800, call_receive_timeout_ms=20000,
        call_ring_timeout_ms=90000, call_connect_timeout_ms=30000,
        call_packet_timeout_ms=10000, me_url_prefix="https://t.me/", caption_length_max=1024,
        message_length_max=4096, webfile_dc_id=m.dc_id,
    )  # fmt: skip


@handles(functions.help.GetNearestDcRequest)
def get_nearest_dc(m: Methods, request: TLRequest, info: KeyInfo) -> TLObject:
    return types.NearestDc(country="US", this_dc=m.dc_id, nearest_dc=m.dc_id)


@handles(functions.updates.GetStateRequest)
def get_state(m: Methods, request: TLRequest, info: KeyInfo) -> TLObject:
    return types.updates.State(pts=1, qts=0, date=dt.datetime.now(dt.UTC), seq=0, unread_count=0)


@handles(functions.updates.GetDifferenceRequest)
def get_difference(m: Methods, request: TLRequest, info: KeyInfo) -> TLObject:
    return types.updates.DifferenceEmpty(date=dt.datetime.now(dt.UTC), seq=0)


@handles(functions.updates.GetChannelDifferenceRequest)
def get_channel_difference(
    m: Methods, request: functions.updates.GetChannelDifferenceRequest, info: KeyInfo
) -> TLObject:
    channel = m.channel(request.channel)
    return types.updates.ChannelDifferenceEmpty(pts=channel.pts, final=True, timeout=30)


# -- accounts -------------------------------------------------------------------------------


@handles(functions.users.GetUsersRequest)
def get_users(m: Methods, request: functions.users.GetUsersRequest, info: KeyInfo) -> TLObject:
    users: list[TLObject] = []
    for wanted in request.id:
        if isinstance(wanted, types.InputUserSelf):
            users.append(m.account(info))
        else:
            users.append(types.UserEmpty(getattr(wanted, "user_id", 0)))
    return users  # type: ignore[return-value]  # Vector<User>: see serialize_vector


@handles(functions.users.GetFullUserRequest)
def get_full_user(
    m: Methods, request: functions.users.GetFullUserRequest, info: KeyInfo
) -> TLObject:
    if not isinstance(request.id, types.InputUserSelf):
        raise RpcFailure(400, "USER_ID_INVALID")
    me = m.account(info)
    full = types.UserFull(
        id=me.id,
        settings=types.PeerSettings(),
        notify_settings=types.PeerNotifySettings(),
        common_chats_count=0,
    )
    return types.users.UserFull(full_user=full, chats=[], users=[me])


@handles(functions.auth.SendCodeRequest)
def send_code(m: Methods, request: functions.auth.SendCodeRequest, info: KeyInfo) -> TLObject:
    account = m.world.accounts.get(request.phone_number)
    if account is None:
        raise RpcFailure(400, "PHONE_NUMBER_INVALID")
    code_hash = os.urandom(8).hex()
    m._code_hashes[request.phone_number] = code_hash
    return types.auth.SentCode(
        type=types.auth.SentCodeTypeSms(length=len(account.code)), phone_code_hash=code_hash
    )


@handles(functions.auth.SignInRequest)
def sign_in(m: Methods, request: functions.auth.SignInRequest, info: KeyInfo) -> TLObject:
    account = m.world.accounts.get(request.phone_number)
    if account is None:
        raise RpcFailure(400, "PHONE_NUMBER_INVALID")
    if m._code_hashes.get(request.phone_number) != request.phone_code_hash:
        raise RpcFailure(400, "PHONE_CODE_EXPIRED")
    if request.phone_code != account.code:
        raise RpcFailure(400, "PHONE_CODE_INVALID")
    info.user_id = account.id
    return types.auth.Authorization(user=account.tl(is_self=True))


@handles(functions.auth.ExportAuthorizationRequest)
def export_authorization(
    m: Methods, request: functions.auth.ExportAuthorizationRequest, info: KeyInfo
) -> TLObject:
    token = os.urandom(32)
    m._exported[token] = int(info.user_id or 0)
    return types.auth.ExportedAuthorization(id=int(info.user_id or 0), bytes=token)


@handles(functions.auth.ImportAuthorizationRequest)
def import_authorization(
    m: Methods, request: functions.auth.ImportAuthorizationRequest, info: KeyInfo
) -> TLObject:
    if m._exported.pop(request.bytes, None) != request.id:
        raise RpcFailure(400, "AUTH_BYTES_INVALID")
    info.user_id = request.id
    return types.auth.Authorization(user=m.account(info))


# -- channels and messages ------------------------------------------------------------------


@handles(functions.contacts.ResolveUsernameRequest)
def resolve_username(
    m: Methods, request: functions.contacts.ResolveUsernameRequest, info: KeyInfo
) -> TLObject:
    if not USERNAME_RE.match(request.username):
        raise RpcFailure(400, "USERNAME_INVALID")
    channel = m.world.channel_by_username(request.username)
    if channel is None:
        raise RpcFailure(400, "USERNAME_NOT_OCCUPIED")
    return types.contacts.ResolvedPeer(
        peer=types.PeerChannel(channel.id), chats=[channel.tl()], users=[]
    )


@handles(functions.channels.GetChannelsRequest)
def get_channels(
    m: Methods, request: functions.channels.GetChannelsRequest, info: KeyInfo
) -> TLObject:
    chats: list[TLObject] = []
    for wanted in request.id:
        channel = m.channel(wanted, content=False)
        if channel.private:
            chats.append(
                types.ChannelForbidden(
                    channel.id, channel.access_hash, channel.title, broadcast=True
                )
            )
        else:
            chats.append(channel.tl())
    return types.messages.Chats(chats=chats)


@handles(functions.channels.GetFullChannelRequest)
def get_full_channel(
    m: Methods, request: functions.channels.GetFullChannelRequest, info: KeyInfo
) -> TLObject:
    channel = m.channel(request.channel)
    return types.messages.ChatFull(full_chat=channel.full(), chats=[channel.tl()], users=[])


@handles(functions.messages.GetHistoryRequest)
def get_history(
    m: Methods, request: functions.messages.GetHistoryRequest, info: KeyInfo
) -> TLObject:
    channel = m.channel(request.peer)
    ids = sorted(channel.messages, reverse=True)
    # The window starts at the first message older than offset_id (else offset_date, else the
    # newest), is shifted by add_offset (negative reaches newer messages) and is cut to
    # [0, len); min_id/max_id then filter what is inside the window, as on Telegram.
    if request.offset_id:
        start = sum(1 for i in ids if i >= request.offset_id)
    elif request.offset_date and request.offset_date.timestamp() > 0:
        # (an absent offset_date is sent as 0 and parses back as the epoch, not None)
        start = sum(1 for i in ids if channel.messages[i].date >= request.offset_date)
    else:
        start = 0
    start += request.add_offset
    end = start + min(max(request.limit, 0), HISTORY_LIMIT_MAX)
    window = ids[max(start, 0) : max(end, 0)]
    picked = [
        channel.messages[i]
        for i in window
        if (not request.max_id or i < request.max_id) and (not request.min_id or i > request.min_id)
    ]
    return m.channel_messages(channel, picked)


@handles(functions.channels.GetMessagesRequest)
def get_messages(
    m: Methods, request: functions.channels.GetMessagesRequest, info: KeyInfo
) -> TLObject:
    channel = m.channel(request.channel)
    found: list[TLObject] = []
    for wanted in request.id:
        msg_id = getattr(wanted, "id", None)
        message = channel.messages.get(msg_id) if msg_id is not None else None
        found.append(
            message or types.MessageEmpty(id=msg_id or 0, peer_id=types.PeerChannel(channel.id))
        )
    return m.channel_messages(channel, found)


@handles(functions.messages.GetMessagesViewsRequest)
def get_messages_views(
    m: Methods, request: functions.messages.GetMessagesViewsRequest, info: KeyInfo
) -> TLObject:
    channel = m.channel(request.peer)
    views: list[TLObject] = []
    for msg_id in request.id:
        message = channel.messages.get(msg_id)
        if message is None or message.views is None:
            views.append(types.MessageViews())
            continue
        if request.increment:
            message.views += 1
        views.append(types.MessageViews(views=message.views, forwards=message.forwards or 0))
    return types.messages.MessageViews(views=views, chats=[channel.tl()], users=[])


@handles(functions.upload.GetFileRequest)
def get_file(m: Methods, request: functions.upload.GetFileRequest, info: KeyInfo) -> TLObject:
    location = request.location
    if isinstance(location, types.InputPhotoFileLocation):
        key = ("photo", location.id, location.thumb_size)
    elif isinstance(location, types.InputDocumentFileLocation):
        key = ("document", location.id, location.thumb_size)
    else:
        raise RpcFailure(400, "LOCATION_INVALID")
    data = m.world.files.get(key)
    if data is None:
        raise RpcFailure(400, "LOCATION_INVALID")
    offset, limit = request.offset, request.limit
    # https://core.telegram.org/api/files#downloading-files: 4 KiB alignment, 1 MiB divisible
    # by limit, no part crossing a 1 MiB boundary; `precise` relaxes this to 1 KiB steps.
    if request.precise:
        if offset % 1024:
            raise RpcFailure(400, "OFFSET_INVALID")
        if limit <= 0 or limit % 1024 or limit > MIB:
            raise RpcFailure(400, "LIMIT_INVALID")
    else:
        if offset % 4096 or offset < 0:
            raise RpcFailure(400, "OFFSET_INVALID")
        if limit <= 0 or limit % 4096 or MIB % limit:
            raise RpcFailure(400, "LIMIT_INVALID")
    if offset // MIB != (offset + limit - 1) // MIB:
        raise RpcFailure(400, "LIMIT_INVALID")
    file_type = types.storage.FileJpeg() if key[0] == "photo" else types.storage.FileUnknown()
    return types.upload.File(type=file_type, mtime=0, bytes=data[offset : offset + limit])


def serialize_vector(items: list[TLObject]) -> bytes:
    """Vector<T> results (users.getUsers) are bare lists in Telethon, not TL objects."""
    return struct.pack("<Ii", 0x1CB5C415, len(items)) + b"".join(bytes(x) for x in items)
