"""Handlers for what a collector reads: usernames, channels, history, views and files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telethon.tl import TLObject, functions, types

from .rpc import Methods, RpcFailure, handles
from .world import USERNAME_RE

if TYPE_CHECKING:
    from .connection import KeyInfo

MIB = 1024 * 1024
HISTORY_LIMIT_MAX = 100


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
