"""Handlers for connecting and signing in: help.*, updates.*, users.*, auth.*."""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING

from telethon.tl import TLObject, functions, types
from telethon.tl.tlobject import TLRequest

from .rpc import Methods, RpcFailure, handles

if TYPE_CHECKING:
    from .connection import KeyInfo


# -- help and updates -----------------------------------------------------------------------


@handles(functions.help.GetConfigRequest)
def get_config(m: Methods, request: functions.help.GetConfigRequest, info: KeyInfo) -> TLObject:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Every DC Telethon might look up is this server, so no code path can leave loopback.
    options = [types.DcOption(id=i, ip_address="127.0.0.1", port=m.port()) for i in range(1, 6)]
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


# The fake pushes no updates, so an account's update state never moves: connect and
# sign-in only need these answers to initialise Telethon's message box.
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
def get_users(
    m: Methods, request: functions.users.GetUsersRequest, info: KeyInfo
) -> list[TLObject]:
    users: list[TLObject] = []
    for wanted in request.id:
        if isinstance(wanted, types.InputUserSelf):
            users.append(m.account(info))
        else:
            users.append(types.UserEmpty(getattr(wanted, "user_id", 0)))
    return users


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
    m.code_hashes[request.phone_number] = code_hash
    return types.auth.SentCode(
        type=types.auth.SentCodeTypeSms(length=len(account.code)), phone_code_hash=code_hash
    )


@handles(functions.auth.SignInRequest)
def sign_in(m: Methods, request: functions.auth.SignInRequest, info: KeyInfo) -> TLObject:
    account = m.world.accounts.get(request.phone_number)
    if account is None:
        raise RpcFailure(400, "PHONE_NUMBER_INVALID")
    if m.code_hashes.get(request.phone_number) != request.phone_code_hash:
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
    m.exported[token] = int(info.user_id or 0)
    return types.auth.ExportedAuthorization(id=int(info.user_id or 0), bytes=token)


@handles(functions.auth.ImportAuthorizationRequest)
def import_authorization(
    m: Methods, request: functions.auth.ImportAuthorizationRequest, info: KeyInfo
) -> TLObject:
    if m.exported.pop(request.bytes, None) != request.id:
        raise RpcFailure(400, "AUTH_BYTES_INVALID")
    info.user_id = request.id
    return types.auth.Authorization(user=m.account(info))
