"""Server side of MTProto's auth key exchange (req_pq_multi, req_DH_params, set_client_DH_params).

Mirrors telethon/network/authenticator.py step by step. The RSA key is generated in the test
process (never committed) and registered with Telethon via ``telethon.crypto.rsa.add_key``.
"""

from __future__ import annotations

import functools
import os
import struct
import time
from dataclasses import dataclass
from hashlib import sha1

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
from telethon import helpers
from telethon.crypto import AES, AuthKey
from telethon.crypto import rsa as telethon_rsa
from telethon.extensions import BinaryReader
from telethon.tl import TLObject, functions, types

# Telegram's published 2048-bit safe prime and generator (https://core.telegram.org/mtproto/auth_key).
DH_PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D2"
    "2530F4DBFA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC97465129693284"
    "54F18FAF8C595F642477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A69581"
    "1051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D"
    "169C6BC465B0D6FF9CA3928FEF5B9AE4E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850C"
    "E929851F0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B",
    16,
)
DH_G = 3
# Two 32-bit primes: the client factorises pq as its proof of work (Pollard's rho in Telethon).
PQ_P, PQ_Q = 0x494C553B, 0x53911073
SAFETY_RANGE = 2 ** (2048 - 64)


class HandshakeError(Exception):
    """The client sent something a real DC would refuse; the connection is dropped."""


@dataclass(frozen=True)
class ServerRsaKey:
    n: int
    e: int
    d: int
    fingerprint: int
    public_pem: bytes


@functools.cache
def server_rsa_key() -> ServerRsaKey:
    """One RSA key per test process, registered with Telethon the first time it is needed."""
    private = crypto_rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.private_numbers()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    # Same fingerprint formula as telethon.crypto.rsa._compute_fingerprint.
    raw = TLObject.serialize_bytes(telethon_rsa.get_byte_array(n)) + TLObject.serialize_bytes(
        telethon_rsa.get_byte_array(e)
    )
    fingerprint = struct.unpack("<q", sha1(raw).digest()[-8:])[0]
    telethon_rsa.add_key(public_pem.decode(), old=False)
    return ServerRsaKey(n, e, numbers.d, fingerprint, public_pem)


@dataclass
class KeyExchange:
    """State of one connection's key exchange; ``auth_key``/``salt`` are set when it is done."""

    nonce: int = 0
    server_nonce: int = 0
    new_nonce: int = 0
    a: int = 0
    auth_key: AuthKey | None = None
    salt: int = 0

    def handle(self, request: TLObject) -> TLObject:
        if isinstance(request, (functions.ReqPqMultiRequest, functions.ReqPqRequest)):
            return self._res_pq(request)
        if isinstance(request, functions.ReqDHParamsRequest):
            return self._server_dh_params(request)
        if isinstance(request, functions.SetClientDHParamsRequest):
            return self._dh_gen(request)
        raise HandshakeError(f"unexpected plain message {type(request).__name__}")

    def _check_nonces(self, request: TLObject) -> None:
        if (request.nonce, request.server_nonce) != (self.nonce, self.server_nonce):
            raise HandshakeError("nonce mismatch")

    def _res_pq(self, request: functions.ReqPqMultiRequest) -> types.ResPQ:
        self.nonce = request.nonce
        self.server_nonce = int.from_bytes(os.urandom(16), "big", signed=True)
        return types.ResPQ(
            nonce=self.nonce,
            server_nonce=self.server_nonce,
            pq=telethon_rsa.get_byte_array(PQ_P * PQ_Q),
            server_public_key_fingerprints=[server_rsa_key().fingerprint],
        )

    def _server_dh_params(self, request: functions.ReqDHParamsRequest) -> types.ServerDHParamsOk:
        self._check_nonces(request)
        key = server_rsa_key()
        if request.public_key_fingerprint != key.fingerprint:
            raise HandshakeError("unknown RSA fingerprint")
        # Telethon pads sha1 + data to 255 bytes and encrypts it as one raw RSA block.
        plain = pow(int.from_bytes(request.encrypted_data, "big"), key.d, key.n).to_bytes(
            255, "big"
        )
        inner = BinaryReader(plain[20:]).tgread_object()
        if not isinstance(inner, types.PQInnerData) or sha1(bytes(inner)).digest() != plain[:20]:
            raise HandshakeError("bad p_q_inner_data")
        if {int.from_bytes(inner.p, "big"), int.from_bytes(inner.q, "big")} != {PQ_P, PQ_Q}:
            raise HandshakeError("wrong factorisation of pq")
        self.new_nonce = inner.new_nonce

        g_a = 0
        while not SAFETY_RANGE <= g_a <= DH_PRIME - SAFETY_RANGE:
            self.a = int.from_bytes(os.urandom(256), "big")
            g_a = pow(DH_G, self.a, DH_PRIME)
        answer = bytes(
            types.ServerDHInnerData(
                nonce=self.nonce,
                server_nonce=self.server_nonce,
                g=DH_G,
                dh_prime=telethon_rsa.get_byte_array(DH_PRIME),
                g_a=telethon_rsa.get_byte_array(g_a),
                server_time=int(time.time()),
            )
        )
        with_hash = sha1(answer).digest() + answer
        with_hash += os.urandom(-len(with_hash) % 16)
        aes_key, aes_iv = helpers.generate_key_data_from_nonce(self.server_nonce, self.new_nonce)
        return types.ServerDHParamsOk(
            nonce=self.nonce,
            server_nonce=self.server_nonce,
            encrypted_answer=AES.encrypt_ige(with_hash, aes_key, aes_iv),
        )

    def _dh_gen(
        self, request: functions.SetClientDHParamsRequest
    ) -> types.DhGenOk | types.DhGenRetry:
        self._check_nonces(request)
        aes_key, aes_iv = helpers.generate_key_data_from_nonce(self.server_nonce, self.new_nonce)
        plain = AES.decrypt_ige(request.encrypted_data, aes_key, aes_iv)
        inner = BinaryReader(plain[20:]).tgread_object()
        if not isinstance(inner, types.ClientDHInnerData):
            raise HandshakeError("bad client_DH_inner_data")
        if sha1(bytes(inner)).digest() != plain[:20]:
            raise HandshakeError("client_DH_inner_data hash mismatch")
        g_b = int.from_bytes(inner.g_b, "big")
        if not SAFETY_RANGE <= g_b <= DH_PRIME - SAFETY_RANGE:
            raise HandshakeError("g_b out of range")
        gab = pow(g_b, self.a, DH_PRIME)
        # Telethon builds the key from the *minimal* big-endian encoding of g^ab, not the 256
        # bytes the protocol specifies; the key id is a hash of the bytes, so we encode it the
        # same way. About 1 time in 256 that is 255 bytes or fewer, and a StringSession pads
        # the key it saves to 256 bytes at the end: such a session would come back with
        # another key (-404). Those exchanges are answered dh_gen_retry, which Telethon meets
        # with a fresh exchange, so every key this DC accepts survives being saved.
        key = telethon_rsa.get_byte_array(gab)
        if len(key) < 256:
            # No auth_key is set: the client's next req_pq begins the exchange anew.
            return types.DhGenRetry(
                nonce=self.nonce,
                server_nonce=self.server_nonce,
                new_nonce_hash2=AuthKey(key).calc_new_nonce_hash(self.new_nonce, 2),
            )
        self.auth_key = AuthKey(key)
        new_nonce_bytes = self.new_nonce.to_bytes(32, "little", signed=True)
        server_nonce_bytes = self.server_nonce.to_bytes(16, "little", signed=True)
        # The first salt is new_nonce[0:8] XOR server_nonce[0:8], as on Telegram.
        self.salt = struct.unpack(
            "<q",
            bytes(x ^ y for x, y in zip(new_nonce_bytes[:8], server_nonce_bytes[:8], strict=True)),
        )[0]
        return types.DhGenOk(
            nonce=self.nonce,
            server_nonce=self.server_nonce,
            new_nonce_hash1=self.auth_key.calc_new_nonce_hash(self.new_nonce, 1),
        )
