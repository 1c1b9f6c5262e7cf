"""The fake Telegram DC against the real, unmodified Telethon client.

Each test runs its client in ``asyncio.run`` (no pytest-asyncio needed) behind the
``no_real_telegram`` guard (a fixture from tests/integration/conftest.py), so nothing can
leave loopback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import types as pytypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient, errors, functions, types
from telethon.client import telegrambaseclient
from telethon.crypto import AuthKey
from telethon.crypto import rsa as telethon_rsa
from telethon.extensions import BinaryReader
from telethon.network import authenticator
from telethon.network.connection import (
    ConnectionTcpAbridged,
    ConnectionTcpFull,
    ConnectionTcpIntermediate,
)
from telethon.sessions import StringSession

from sandbox.telegram_dc import FakeDC, RealNetworkAccessError, World, guards
from sandbox.telegram_dc.handshake import DH_PRIME, KeyExchange, server_rsa_key

pytestmark = pytest.mark.usefixtures("no_real_telegram")

API_ID, API_HASH = 12345, "0123456789abcdef0123456789abcdef"
REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def client_for(session: StringSession | str, **kwargs: Any) -> TelegramClient:
    if isinstance(session, str):
        session = StringSession(session)
    kwargs.setdefault("connection_retries", 1)
    kwargs.setdefault("retry_delay", 0)
    kwargs.setdefault("receive_updates", False)
    return TelegramClient(session, API_ID, API_HASH, **kwargs)


def run_with_dc(world: World, body: Callable[[FakeDC], Awaitable[None]]) -> FakeDC:
    """Serve ``world`` for the duration of ``body``; a hang fails the test instead of CI."""

    async def main() -> FakeDC:
        async with FakeDC(world) as dc:
            await asyncio.wait_for(body(dc), timeout=20)
        return dc

    return asyncio.run(main())


def run_client(
    world: World, body: Callable[[TelegramClient, FakeDC], Awaitable[None]], **kwargs: Any
) -> FakeDC:
    """Connect a client with a pre-shared, signed-in auth key and run ``body`` with it."""

    async def with_client(dc: FakeDC) -> None:
        client = client_for(dc.string_session(), **kwargs)
        await client.connect()
        try:
            await body(client, dc)
        finally:
            await client.disconnect()

    return run_with_dc(world, with_client)


def world_with_channel(ids: list[int]) -> tuple[World, Any]:
    world = World()
    channel = world.add_channel("newsroom", "Newsroom", about="All the news", participants_count=42)
    for msg_id in ids:
        world.add_message(channel, msg_id, f"post {msg_id}", date=T0 + dt.timedelta(minutes=msg_id))
    return world, channel


# -- connecting ---------------------------------------------------------------------------------


def test_key_exchange_connects_every_time() -> None:
    """Twenty fresh key exchanges: an auth-key encoding mismatch would fail ~1 in 256."""

    async def body(dc: FakeDC) -> None:
        for _ in range(20):
            client = client_for(dc.new_session())
            await client.connect()
            assert await client.get_me() is None  # a new key is not signed in
            assert dc.key_info(client.session.auth_key.key_id) is not None
            await client.disconnect()

    dc = run_with_dc(World(), body)
    assert dc.calls("users.getUsers")


def _exchange_with_secret(monkeypatch: Any, short: bool) -> tuple[KeyExchange, Any]:
    """One key exchange with Telethon's client side, its secret b chosen so that g^ab encodes
    in 255 bytes or fewer (`short`, about 1 exchange in 256) or in 256: (the DC's side, the
    client's key or the error it raised)."""
    kex = KeyExchange()

    class InMemorySender:
        async def send(self, request: Any) -> Any:
            answer = kex.handle(BinaryReader(bytes(request)).tgread_object())
            return BinaryReader(bytes(answer)).tgread_object()

    def choose_b(n: int) -> bytes:
        if n != 256:
            return os.urandom(n)
        g_a = pow(3, kex.a, DH_PRIME)
        while True:  # about 256 tries until the shared secret has a leading zero byte
            # A 64-bit exponent keeps each try cheap; g^b still spans the whole group.
            b = int.from_bytes(os.urandom(8), "big")
            if (pow(g_a, b, DH_PRIME).bit_length() <= 2040) == short:
                return b.to_bytes(256, "big")

    monkeypatch.setattr(authenticator, "os", pytypes.SimpleNamespace(urandom=choose_b))
    try:
        auth_key, _offset = asyncio.run(authenticator.do_authentication(InMemorySender()))
    except AssertionError as refused:
        return kex, refused
    return kex, auth_key


def test_a_key_a_string_session_cannot_hold_is_retried_not_accepted(monkeypatch: Any) -> None:
    """Telethon keys on the shortest encoding of g^ab, and a StringSession pads a saved key to
    256 bytes at the end, so a shorter key came back as another key and the next connection
    got -404 (a fresh-clone CI run failed so once). The DC answers dh_gen_retry instead."""
    kex, outcome = _exchange_with_secret(monkeypatch, short=True)

    # Telethon checked the answer's new_nonce_hash2 (a SecurityError otherwise) and reads it
    # as a request to start over, which its sender does; the DC keeps no key.
    assert isinstance(outcome, AssertionError) and "DhGenRetry" in str(outcome)
    assert kex.auth_key is None
    assert isinstance(kex.handle(functions.ReqPqMultiRequest(nonce=1)), types.ResPQ)


def test_an_accepted_key_is_the_same_on_both_sides_and_survives_a_string_session(
    monkeypatch: Any,
) -> None:
    kex, auth_key = _exchange_with_secret(monkeypatch, short=False)

    assert len(auth_key.key) == 256
    assert kex.auth_key is not None and kex.auth_key.key_id == auth_key.key_id
    saved = StringSession()
    saved.set_dc(2, "127.0.0.1", 443)
    saved.auth_key = auth_key
    assert StringSession(saved.save()).auth_key.key_id == auth_key.key_id


@pytest.mark.parametrize(
    "connection", [ConnectionTcpFull, ConnectionTcpAbridged, ConnectionTcpIntermediate]
)
def test_string_session_with_pre_shared_key(connection: type) -> None:
    key = os.urandom(256)
    world = World()

    async def body(dc: FakeDC) -> None:
        # With updates on, Telethon sends a bare ping (answered by a pong, no rpc_result).
        client = client_for(dc.string_session(key), connection=connection, receive_updates=True)
        await client.connect()
        me = await client.get_me()
        assert me.id == world.me.id and me.is_self
        assert client.session.auth_key.key == key
        assert isinstance(await client(functions.PingRequest(ping_id=7)), types.Pong)
        await client.disconnect()

    dc = run_with_dc(world, body)
    assert {c.auth_key_id for c in dc.calls()} == {AuthKey(key).key_id}
    assert {c.init.api_id for c in dc.calls()} == {API_ID}


def test_unknown_auth_key_is_refused() -> None:
    async def body(dc: FakeDC) -> None:
        session = dc.string_session()
        dc.forget_key(StringSession(session).auth_key.key_id)
        client = client_for(session, auto_reconnect=False)
        with pytest.raises(errors.AuthKeyNotFound):
            await client.connect()
        # Telethon also ends its `disconnected` future with the error; consume it.
        with pytest.raises(errors.AuthKeyNotFound):
            await client.disconnected
        await client.disconnect()

    run_with_dc(World(), body)


def test_sign_in_with_phone_and_code() -> None:
    world = World()

    async def body(dc: FakeDC) -> None:
        client = client_for(dc.new_session())
        await client.connect()
        await client.send_code_request("+1 555 0100")
        with pytest.raises(errors.PhoneCodeInvalidError):
            await client.sign_in("+1 555 0100", "99999")
        user = await client.sign_in("+1 555 0100", world.me.code)
        assert user.id == world.me.id
        saved = client.session.save()
        await client.disconnect()

        again = client_for(saved)
        await again.connect()
        assert (await again.get_me()).id == world.me.id
        await again.disconnect()

    dc = run_with_dc(world, body)
    assert [c.method for c in dc.calls() if c.method.startswith("auth.")] == [
        "auth.sendCode",
        "auth.signIn",
        "auth.signIn",
    ]


def test_config_points_every_dc_at_the_fake() -> None:
    async def body(client: TelegramClient, dc: FakeDC) -> None:
        config = await client(functions.help.GetConfigRequest())
        assert {(o.ip_address, o.port) for o in config.dc_options} == {("127.0.0.1", dc.port)}
        nearest = await client(functions.help.GetNearestDcRequest())
        assert nearest.this_dc == dc.dc_id

    run_client(World(), body)


# -- channels and messages ----------------------------------------------------------------------


def test_get_entity_and_full_channel() -> None:
    world, channel = world_with_channel([1])
    channel.verified = True

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        entity = await client.get_entity("@newsroom")
        assert (entity.id, entity.title, entity.verified) == (channel.id, "Newsroom", True)
        full = await client(functions.channels.GetFullChannelRequest(entity))
        assert (full.full_chat.about, full.full_chat.participants_count) == ("All the news", 42)
        chats = await client(functions.channels.GetChannelsRequest([entity]))
        assert chats.chats[0].username == "newsroom"

    dc = run_client(world, body)
    assert len(dc.calls("contacts.resolveUsername")) == 1


def test_iter_messages_paginates_over_holes() -> None:
    ids = [i for i in range(1, 260) if i % 7 and i not in range(100, 120)]
    world, channel = world_with_channel(ids)
    world.add_service(channel, 300, types.MessageActionChannelCreate("Newsroom"))
    expected = sorted([*ids, 300], reverse=True)

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        # wait_time=0: unbounded iterations otherwise pause Telethon 1 s between chunks.
        newest_first = client.iter_messages("@newsroom", wait_time=0)
        assert [m.id async for m in newest_first] == expected
        oldest_first = client.iter_messages("@newsroom", reverse=True, wait_time=0)
        assert [m.id async for m in oldest_first] == sorted(expected)
        window = client.iter_messages("@newsroom", min_id=50, max_id=130, wait_time=0)
        assert [m.id async for m in window] == [i for i in expected if 50 < i < 130]

    dc = run_client(world, body)
    assert len(dc.calls("messages.getHistory", channel_id=channel.id)) >= 6


def test_get_history_window_semantics() -> None:
    world, _channel = world_with_channel([1, 2, 3, 5, 8, 13, 21, 34])

    async def history(client: TelegramClient, **kw: int) -> list[int]:
        args = {"offset_id": 0, "add_offset": 0, "limit": 100, "max_id": 0, "min_id": 0, **kw}
        request = functions.messages.GetHistoryRequest("newsroom", offset_date=None, hash=0, **args)
        return [m.id for m in (await client(request)).messages]

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        assert await history(client) == [34, 21, 13, 8, 5, 3, 2, 1]
        assert await history(client, offset_id=13) == [8, 5, 3, 2, 1]
        assert await history(client, offset_id=13, limit=2) == [8, 5]
        assert await history(client, offset_id=13, add_offset=-2, limit=3) == [21, 13, 8]
        assert await history(client, offset_id=1, add_offset=-3, limit=3) == [3, 2, 1]
        assert await history(client, offset_id=2, add_offset=-100, limit=100) == [
            34,
            21,
            13,
            8,
            5,
            3,
            2,
        ]
        assert await history(client, min_id=3, max_id=21) == [13, 8, 5]

    run_client(world, body)


def test_get_messages_by_id_gives_none_for_missing() -> None:
    world, channel = world_with_channel(list(range(1, 200)))
    world.delete_message(channel, 5)

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        got = await client.get_messages("@newsroom", ids=[4, 5, 6, 999])
        assert [m.id if m else None for m in got] == [4, None, 6, None]
        # 150 ids make a request Telethon gzips, and an answer the fake gzips back.
        many = await client.get_messages("@newsroom", ids=list(range(1, 151)))
        assert [m.id for m in many if m] == [i for i in range(1, 151) if i != 5]

    run_client(world, body)


def test_concurrent_requests_travel_in_a_container() -> None:
    world, _channel = world_with_channel([1, 2, 3])

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        entity = await client.get_input_entity("newsroom")
        results = await client(
            [
                functions.channels.GetFullChannelRequest(entity),
                functions.messages.GetHistoryRequest(entity, 0, None, 0, 10, 0, 0, 0),
                functions.help.GetNearestDcRequest(),
            ]
        )
        assert [type(r).__name__ for r in results] == ["ChatFull", "ChannelMessages", "NearestDc"]

    run_client(world, body)


def test_views_are_recorded_with_their_increment_flag() -> None:
    world, channel = world_with_channel([1, 2])
    world.set_views(channel, 1, 500)

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        entity = await client.get_input_entity("newsroom")
        views = await client(functions.messages.GetMessagesViewsRequest(entity, [1, 2], False))
        assert [v.views for v in views.views] == [500, 0]

    dc = run_client(world, body)
    [call] = dc.calls("messages.getMessagesViews")
    assert call.request.increment is False and call.channel_id == channel.id
    assert channel.messages[1].views == 500
    assert not dc.calls("channels.joinChannel")


def test_unknown_method_is_an_error_that_names_it() -> None:
    world, _channel = world_with_channel([1])

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        entity = await client.get_input_entity("newsroom")
        with pytest.raises(errors.RPCError, match="CHANNELS_JOINCHANNEL"):
            await client(functions.channels.JoinChannelRequest(entity))

    dc = run_client(world, body)
    assert len(dc.calls("channels.joinChannel")) == 1


# -- media ----------------------------------------------------------------------------------------


def test_download_photo_and_multipart_document() -> None:
    world, channel = world_with_channel([])
    jpeg = b"\xff\xd8\xff\xe0" + os.urandom(40_000)
    video = os.urandom(700 * 1024 + 123)  # several 128 KiB parts, the last one short
    world.add_photo(channel, 1, jpeg, "a photo", thumb=b"small")
    world.add_video(channel, 2, video, duration=12.5, thumb=b"thumb-bytes")

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        photo_msg, video_msg = await client.get_messages("@newsroom", ids=[1, 2])
        assert await client.download_media(photo_msg, file=bytes) == jpeg
        assert await client.download_media(video_msg, file=bytes) == video
        assert await client.download_media(video_msg, file=bytes, thumb=0) == b"thumb-bytes"
        assert video_msg.file.duration == 12.5 and video_msg.file.mime_type == "video/mp4"

    dc = run_client(world, body)
    parts = [c.request for c in dc.calls("upload.getFile") if c.request.location.thumb_size == ""]
    assert [p.offset for p in parts] == [i * 128 * 1024 for i in range(6)]


def test_get_file_enforces_telegram_offset_and_limit_rules() -> None:
    world, channel = world_with_channel([])
    world.add_document(channel, 1, os.urandom(3 * 1024 * 1024), "application/zip")

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        [message] = await client.get_messages("@newsroom", ids=[1])
        doc = message.media.document
        location = types.InputDocumentFileLocation(doc.id, doc.access_hash, doc.file_reference, "")
        part = await client(functions.upload.GetFileRequest(location, 1024 * 1024, 512 * 1024))
        assert len(part.bytes) == 512 * 1024
        with pytest.raises(errors.LimitInvalidError):  # crosses a 1 MiB boundary
            await client(functions.upload.GetFileRequest(location, 768 * 1024, 512 * 1024))
        with pytest.raises(errors.OffsetInvalidError):
            await client(functions.upload.GetFileRequest(location, 1000, 4096))
        precise = functions.upload.GetFileRequest(location, 1024, 3072, precise=True)
        assert len((await client(precise)).bytes) == 3072

    run_client(world, body)


# -- errors and a changing world ------------------------------------------------------------------


def test_flood_wait_surfaces_above_the_sleep_threshold() -> None:
    world, channel = world_with_channel(list(range(1, 10)))
    world.schedule_error("messages.getHistory", "FLOOD_WAIT_120", nth=2, channel=channel)
    world.schedule_error("channels.getFullChannel", "FLOOD_WAIT_1", nth=1, channel=channel)

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        entity = await client.get_input_entity("newsroom")
        assert len(await client.get_messages(entity, limit=3)) == 3
        with pytest.raises(errors.FloodWaitError) as caught:
            await client.get_messages(entity, limit=3)
        assert caught.value.seconds == 120
        # At or below the threshold Telethon sleeps and retries by itself.
        full = await client(functions.channels.GetFullChannelRequest(entity))
        assert full.full_chat.id == channel.id

    dc = run_client(world, body, flood_sleep_threshold=5)
    assert len(dc.calls("messages.getHistory")) == 2
    assert len(dc.calls("channels.getFullChannel")) == 2


def test_username_and_channel_errors() -> None:
    world, channel = world_with_channel([1])
    hidden = world.add_channel("hiddenroom", "Hidden", private=True)
    world.schedule_error("contacts.resolveUsername", "CHANNEL_PRIVATE", username="newsroom", nth=2)

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        with pytest.raises(errors.UsernameNotOccupiedError):
            await client(functions.contacts.ResolveUsernameRequest("nobody_here"))
        with pytest.raises(errors.UsernameInvalidError):
            await client(functions.contacts.ResolveUsernameRequest("ab"))
        await client(functions.contacts.ResolveUsernameRequest("newsroom"))
        with pytest.raises(errors.ChannelPrivateError):
            await client(functions.contacts.ResolveUsernameRequest("newsroom"))
        entity = await client.get_input_entity("hiddenroom")
        with pytest.raises(errors.ChannelPrivateError):
            await client.get_messages(entity, limit=1)
        stale = types.InputPeerChannel(channel.id, channel.access_hash + 1)
        with pytest.raises(errors.ChannelInvalidError):
            await client.get_messages(stale, limit=1)

    run_client(world, body)
    assert hidden.private


def test_world_changes_between_runs_in_a_threaded_dc() -> None:
    world, channel = world_with_channel([1, 2, 3])
    world.set_views(channel, 1, 10)

    async def snapshot(session: str) -> dict[int, tuple[int, str, dt.datetime | None, int]]:
        client = client_for(session)
        await client.connect()
        try:
            entity = await client.get_entity("@newsroom")
            return {
                m.id: (entity.id, m.message, m.edit_date, m.views)
                async for m in client.iter_messages(entity)
            }
        finally:
            await client.disconnect()

    edited_at = T0 + dt.timedelta(days=1)
    with FakeDC.start_in_thread(world) as dc:
        first = asyncio.run(snapshot(dc.string_session()))
        world.edit_message(channel, 2, "post 2 (corrected)", edited_at)
        world.delete_message(channel, 3)
        world.set_views(channel, 1, 11)
        second = asyncio.run(snapshot(dc.string_session()))
        world.remove_channel(channel)
        reborn = world.add_channel("newsroom", "Newsroom again")
        world.add_message(reborn, 1, "fresh start")
        third = asyncio.run(snapshot(dc.string_session()))

    c = channel.id
    assert first == {
        3: (c, "post 3", None, 0),
        2: (c, "post 2", None, 0),
        1: (c, "post 1", None, 10),
    }
    assert second == {2: (c, "post 2 (corrected)", edited_at, 0), 1: (c, "post 1", None, 11)}
    assert reborn.id != c
    assert third == {1: (reborn.id, "fresh start", None, 0)}


# -- the guard ------------------------------------------------------------------------------------


def test_guard_refuses_real_addresses_and_clears_telethon_state() -> None:
    # The module-wide fixture already guards this test; a nested guard must behave the same.
    before = telegrambaseclient.DEFAULT_PORT
    TelegramClient._config = "stale config"  # type: ignore[assignment]
    with guards.no_real_telegram(default_port=4444) as refused:
        assert TelegramClient._config is None
        assert telegrambaseclient.DEFAULT_IPV4_IP == "127.0.0.1"
        assert telegrambaseclient.DEFAULT_PORT == 4444
        with pytest.raises(RealNetworkAccessError):
            socket.create_connection(("149.154.167.51", 443), timeout=1)
        assert refused == [("149.154.167.51", 443)]
    assert before == telegrambaseclient.DEFAULT_PORT


def test_session_without_address_falls_back_to_the_fake() -> None:
    async def main() -> None:
        async with FakeDC(World()) as dc:
            with guards.no_real_telegram(default_port=dc.port):
                client = client_for(StringSession())
                await client.connect()
                assert client.session.server_address == "127.0.0.1"
                await client.disconnect()
            assert dc.calls("help.getConfig")

    asyncio.run(main())


def test_rsa_key_is_generated_here_and_registered_with_telethon() -> None:
    key = server_rsa_key()
    assert FakeDC.rsa_public_pem() == key.public_pem
    assert telethon_rsa.encrypt(key.fingerprint, b"payload") is not None


def test_rich_messages_round_trip_through_telethon() -> None:
    world, channel = world_with_channel([1])
    origin = world.add_channel("origin_room", "Origin")
    bold = types.MessageEntityBold(offset=0, length=4)
    world.add_message(
        channel,
        2,
        "Bold move",
        entities=[bold],
        reply_to=types.MessageReplyHeader(reply_to_msg_id=1),
        fwd_from=types.MessageFwdHeader(
            date=T0, from_id=types.PeerChannel(origin.id), channel_post=77
        ),
    )
    world.add_photo(channel, 3, b"jpeg-a", "album", grouped_id=99)
    world.add_photo(channel, 4, b"jpeg-b", grouped_id=99)
    world.add_service(channel, 5, types.MessageActionPinMessage())

    async def body(client: TelegramClient, dc: FakeDC) -> None:
        by_id = {m.id: m async for m in client.iter_messages("@newsroom")}
        post = by_id[2]
        assert post.entities == [bold] and post.reply_to.reply_to_msg_id == 1
        assert (post.fwd_from.from_id.channel_id, post.fwd_from.channel_post) == (origin.id, 77)
        assert by_id[3].grouped_id == by_id[4].grouped_id == 99
        assert isinstance(by_id[5].action, types.MessageActionPinMessage)
        full_me = await client(functions.users.GetFullUserRequest("me"))
        assert full_me.full_user.id == world.me.id

    run_client(world, body)


SUBPROCESS_CLIENT = """
import asyncio, json, os
from telethon import TelegramClient
from telethon.sessions import StringSession
from sandbox.telegram_dc.guards import no_real_telegram

async def main():
    client = TelegramClient(StringSession(os.environ["FAKE_DC_SESSION"]), 1, "x")
    await client.connect()
    ids = [m.id async for m in client.iter_messages("@newsroom", wait_time=0)]
    await client.disconnect()
    print(json.dumps(ids))

with no_real_telegram():
    asyncio.run(main())
"""


def test_client_in_a_subprocess_uses_a_threaded_dc(
    telegram_world: World, threaded_dc: FakeDC
) -> None:
    channel = telegram_world.add_channel("newsroom")
    for msg_id in (1, 2, 4):
        telegram_world.add_message(channel, msg_id, "x")
    env = {**os.environ, "FAKE_DC_SESSION": threaded_dc.string_session()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_CLIENT],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == [4, 2, 1]
    assert len(threaded_dc.calls("messages.getHistory", channel_id=channel.id)) == 1


def test_exported_authorization_signs_in_another_key() -> None:
    world = World()

    async def body(dc: FakeDC) -> None:
        signed_in = client_for(dc.string_session())
        fresh = client_for(dc.new_session())
        await signed_in.connect()
        await fresh.connect()
        exported = await signed_in(functions.auth.ExportAuthorizationRequest(dc_id=dc.dc_id))
        assert await fresh.get_me() is None
        await fresh(functions.auth.ImportAuthorizationRequest(exported.id, exported.bytes))
        assert (await fresh.get_me()).id == world.me.id
        await signed_in.disconnect()
        await fresh.disconnect()

    run_with_dc(world, body)
