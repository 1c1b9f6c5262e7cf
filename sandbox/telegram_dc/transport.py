"""MTProto TCP transports, server side: full (Telethon's default), abridged and intermediate.

The client announces its transport with the first bytes it writes (see the codecs' ``tag`` in
telethon/network/connection/); the full transport has no tag, so its first four bytes are
already the first packet's length. Obfuscated transports are not supported.
"""

from __future__ import annotations

import asyncio
import struct
from zlib import crc32

# A packet bigger than this is surely not a length but an unsupported (obfuscated) header.
MAX_PACKET = 16 * 1024 * 1024


class TransportError(Exception):
    """The byte stream is not valid for the transport in use; the connection is dropped."""


class Codec:
    async def read_packet(self, reader: asyncio.StreamReader) -> bytes:
        raise NotImplementedError

    def encode_packet(self, data: bytes) -> bytes:
        raise NotImplementedError


class FullCodec(Codec):
    """length:int32 seq:int32 payload crc32:uint32, each direction numbering its own packets."""

    def __init__(self, first_length: bytes) -> None:
        self._pending_length: bytes | None = first_length
        self._recv_seq = 0
        self._send_seq = 0

    async def read_packet(self, reader: asyncio.StreamReader) -> bytes:
        raw_length = self._pending_length or await reader.readexactly(4)
        self._pending_length = None
        (length,) = struct.unpack("<i", raw_length)
        if not 12 <= length <= MAX_PACKET:
            raise TransportError(f"bad full-transport length {length}")
        rest = await reader.readexactly(length - 4)
        seq, payload, (crc,) = rest[:4], rest[4:-4], struct.unpack("<I", rest[-4:])
        if crc32(raw_length + seq + payload) != crc:
            raise TransportError("crc32 mismatch")
        if struct.unpack("<i", seq)[0] != self._recv_seq:
            raise TransportError("packet sequence number out of order")
        self._recv_seq += 1
        return payload

    def encode_packet(self, data: bytes) -> bytes:
        head = struct.pack("<ii", len(data) + 12, self._send_seq)
        self._send_seq += 1
        return head + data + struct.pack("<I", crc32(head + data))


class AbridgedCodec(Codec):
    """One length byte in 4-byte words, or 0x7f and three bytes for long packets."""

    async def read_packet(self, reader: asyncio.StreamReader) -> bytes:
        (length,) = await reader.readexactly(1)
        if length >= 0x7F:
            length = int.from_bytes(await reader.readexactly(3), "little")
        return await reader.readexactly(length * 4)

    def encode_packet(self, data: bytes) -> bytes:
        words = len(data) // 4
        if words < 0x7F:
            return bytes([words]) + data
        return b"\x7f" + words.to_bytes(3, "little") + data


class IntermediateCodec(Codec):
    """length:int32 then the payload; the padded variant appends 0-3 junk bytes we strip."""

    def __init__(self, padded: bool) -> None:
        self._padded = padded

    async def read_packet(self, reader: asyncio.StreamReader) -> bytes:
        (length,) = struct.unpack("<i", await reader.readexactly(4))
        if not 0 < length <= MAX_PACKET:
            raise TransportError(f"bad intermediate length {length}")
        data = await reader.readexactly(length)
        # MTProto payloads are whole 4-byte words, so any remainder is padding.
        return data[: len(data) - len(data) % 4] if self._padded else data

    def encode_packet(self, data: bytes) -> bytes:
        return struct.pack("<i", len(data)) + data


async def accept(reader: asyncio.StreamReader) -> Codec:
    """Read the transport tag (if any) a fresh client connection starts with."""
    first = await reader.readexactly(1)
    if first == b"\xef":
        return AbridgedCodec()
    head = first + await reader.readexactly(3)
    if head == b"\xee\xee\xee\xee":
        return IntermediateCodec(padded=False)
    if head == b"\xdd\xdd\xdd\xdd":
        return IntermediateCodec(padded=True)
    return FullCodec(first_length=head)
