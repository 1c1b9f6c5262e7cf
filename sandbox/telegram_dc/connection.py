"""One client TCP connection: plain (key exchange) and encrypted MTProto 2.0 messages.

Mirrors what telethon/network/mtprotostate.py and mtprotosender.py expect from a server: odd,
time-based msg_ids; the client's session_id echoed; new_session_created before the first answer
of a session; bad_server_salt for a wrong salt; containers, gzip_packed, acks and pings.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING

from telethon.crypto import AES, AuthKey
from telethon.errors import TypeNotFoundError
from telethon.extensions import BinaryReader
from telethon.network.mtprotostate import MTProtoState
from telethon.tl import functions, types
from telethon.tl.core import GzipPacked, MessageContainer, RpcResult
from telethon.tl.tlobject import TLRequest

from . import transport
from .handshake import HandshakeError, KeyExchange

if TYPE_CHECKING:
    from .server import FakeDC

# Transport-level "auth key not found", which Telethon turns into AuthKeyNotFound.
AUTH_KEY_NOT_FOUND = struct.pack("<i", -404)
BAD_SERVER_SALT = 48
# Gzip answers bigger than this, like Telegram does, so the client's unpacking is exercised.
# File parts are sent as they are: media is compressed already, and deflating a JPEG to save
# a few header bytes cost both ends ~4 ms of CPU per photo (a third of the hashing benchmark).
GZIP_THRESHOLD = 512
_UPLOAD_FILE = struct.pack("<I", types.upload.File.CONSTRUCTOR_ID)


@dataclass
class KeyInfo:
    """An auth key the DC knows, its current server salt and who signed in with it."""

    auth_key: AuthKey
    salt: int
    user_id: int | None = None


class SessionState:
    """Server-side numbering of one (auth key, session_id) pair."""

    def __init__(self) -> None:
        self.announced = False
        self._last_msg_id = 0
        self._content_sent = 0

    def next_msg_id(self) -> int:
        # Server msg_ids are odd and close to real time (Telethon drops messages >30 s ahead
        # or >300 s behind); 1 mod 4 is what Telegram uses for answers.
        now = time.time()
        msg_id = (int(now) << 32) | (int((now % 1) * 1e9) << 2) | 1
        self._last_msg_id = max(msg_id, self._last_msg_id + 4)
        return self._last_msg_id

    def next_seq_no(self, content_related: bool) -> int:
        if content_related:
            self._content_sent += 1
            return self._content_sent * 2 - 1
        return self._content_sent * 2


@dataclass
class Outgoing:
    body: bytes
    content_related: bool


class MTProtoConnection:
    def __init__(
        self,
        dc: FakeDC,
        connection_id: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.dc = dc
        self.id = connection_id
        self.reader = reader
        self.writer = writer
        self._kex = KeyExchange()
        self.init_connection: functions.InitConnectionRequest | None = None

    async def run(self) -> None:
        codec = await transport.accept(self.reader)
        while True:
            packet = await codec.read_packet(self.reader)
            if len(packet) < 8:
                raise transport.TransportError("packet too short")
            # auth_key_id 0 marks the unencrypted messages of the key exchange.
            plain = packet[:8] == bytes(8)
            replies = [self._plain(packet)] if plain else self._encrypted(packet)
            for reply in replies:
                self.writer.write(codec.encode_packet(reply))
            await self.writer.drain()
            if replies == [AUTH_KEY_NOT_FOUND]:
                return

    # -- key exchange ---------------------------------------------------------------------

    def _plain(self, packet: bytes) -> bytes:
        (length,) = struct.unpack("<i", packet[16:20])
        request = BinaryReader(packet[20 : 20 + length]).tgread_object()
        answer = bytes(self._kex.handle(request))
        if self._kex.auth_key is not None:
            self.dc.register_key(self._kex.auth_key, self._kex.salt)
            self._kex = KeyExchange()
        return struct.pack("<qqi", 0, SessionState().next_msg_id(), len(answer)) + answer

    # -- encrypted messages ---------------------------------------------------------------

    def _encrypted(self, packet: bytes) -> list[bytes]:
        (key_id,) = struct.unpack("<Q", packet[:8])
        info = self.dc.key_info(key_id)
        if info is None:
            return [AUTH_KEY_NOT_FOUND]
        key = info.auth_key.key
        msg_key = packet[8:24]
        aes_key, aes_iv = MTProtoState._calc_key(key, msg_key, True)
        plain = AES.decrypt_ige(packet[24:], aes_key, aes_iv)
        if sha256(key[88 : 88 + 32] + plain).digest()[8:24] != msg_key:
            raise transport.TransportError("msg_key does not match the decrypted payload")
        salt, session_id, msg_id, seq_no, length = struct.unpack("<qqqii", plain[:32])
        body = plain[32 : 32 + length]
        self.dc.note_key_use(self.id, key_id, session_id)
        session = self.dc.session(key_id, session_id)

        out: list[Outgoing] = []
        if salt != info.salt:
            # The message is not processed; Telethon stores the salt and resends it.
            bad = types.BadServerSalt(msg_id, seq_no, BAD_SERVER_SALT, info.salt)
            out.append(Outgoing(bytes(bad), False))
        else:
            if not session.announced:
                session.announced = True
                created = types.NewSessionCreated(
                    first_msg_id=msg_id,
                    unique_id=struct.unpack("<q", os.urandom(8))[0],
                    server_salt=info.salt,
                )
                out.append(Outgoing(bytes(created), False))
            self._process(msg_id, body, key_id, session_id, out)
        if not out:
            return []
        return [self._encrypt(info, key_id, session_id, session, out)]

    def _process(
        self, msg_id: int, body: bytes, key_id: int, session_id: int, out: list[Outgoing]
    ) -> None:
        (constructor,) = struct.unpack("<I", body[:4])
        if constructor == MessageContainer.CONSTRUCTOR_ID:
            # Parsed by hand, not with MessageContainer.from_reader, so that one inner message
            # of an unknown type cannot hide the others (each still gets its answer).
            reader = BinaryReader(body[4:])
            for _ in range(reader.read_int()):
                inner_id, _seq, inner_len = reader.read_long(), reader.read_int(), reader.read_int()
                self._process(inner_id, reader.read(inner_len), key_id, session_id, out)
            return
        if constructor == GzipPacked.CONSTRUCTOR_ID:
            self._process(msg_id, GzipPacked.read(BinaryReader(body)), key_id, session_id, out)
            return
        try:
            obj = BinaryReader(body).tgread_object()
        except TypeNotFoundError as e:
            error = types.RpcError(
                400, f"FAKE_DC_UNKNOWN_CONSTRUCTOR_{e.invalid_constructor_id:08X}"
            )
            out.append(Outgoing(self._rpc_result(msg_id, bytes(error)), True))
            return
        if isinstance(obj, (functions.PingRequest, functions.PingDelayDisconnectRequest)):
            # Pong is not wrapped in rpc_result; Telethon matches it by msg_id.
            out.append(Outgoing(bytes(types.Pong(msg_id, obj.ping_id)), True))
        elif isinstance(obj, TLRequest):
            answer = self.dc.invoke(obj, msg_id, self, key_id, session_id)
            out.append(Outgoing(self._rpc_result(msg_id, answer), True))
        # Anything else (msgs_ack, msgs_state_info...) needs no answer.

    @staticmethod
    def _rpc_result(req_msg_id: int, answer: bytes) -> bytes:
        if len(answer) > GZIP_THRESHOLD and answer[:4] != _UPLOAD_FILE:
            answer = GzipPacked.gzip_if_smaller(True, answer)
        return struct.pack("<Iq", RpcResult.CONSTRUCTOR_ID, req_msg_id) + answer

    @staticmethod
    def _encrypt(
        info: KeyInfo, key_id: int, session_id: int, session: SessionState, out: list[Outgoing]
    ) -> bytes:
        framed = [
            struct.pack(
                "<qii", session.next_msg_id(), session.next_seq_no(o.content_related), len(o.body)
            )
            + o.body
            for o in out
        ]
        if len(framed) == 1:
            message = framed[0]
        else:
            container = struct.pack("<Ii", MessageContainer.CONSTRUCTOR_ID, len(framed))
            container += b"".join(framed)
            message = (
                struct.pack(
                    "<qii", session.next_msg_id(), session.next_seq_no(False), len(container)
                )
                + container
            )
        data = struct.pack("<qq", info.salt, session_id) + message
        padding = os.urandom(-(len(data) + 12) % 16 + 12)
        key = info.auth_key.key
        msg_key = sha256(key[96 : 96 + 32] + data + padding).digest()[8:24]
        aes_key, aes_iv = MTProtoState._calc_key(key, msg_key, False)
        return (
            struct.pack("<Q", key_id) + msg_key + AES.encrypt_ige(data + padding, aes_key, aes_iv)
        )


async def serve_connection(
    dc: FakeDC, connection_id: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Run one connection until the client leaves or sends something a DC would refuse."""
    connection = MTProtoConnection(dc, connection_id, reader, writer)
    try:
        await connection.run()
    except (asyncio.IncompleteReadError, ConnectionError, transport.TransportError, HandshakeError):
        pass
    except Exception as e:  # a bug in the fake itself: keep it for FakeDC.stop() to raise
        dc.internal_errors.append(e)
    finally:
        dc.connection_closed(connection_id)
        writer.close()
