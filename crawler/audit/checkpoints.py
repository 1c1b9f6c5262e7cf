"""Signed checkpoints of the audit chain, and its verification.

The chain alone proves that no single row was edited, but someone who can write the database
can rewrite every row from the first on and recompute every hash. A checkpoint is (length, head
hash, time) signed with the installation's Ed25519 key, which lives outside the database
(a file or the environment): a rewritten chain no longer reaches a signed head. Print each
checkpoint somewhere else too (a ticket, a log host), or deleting checkpoints hides a rewrite.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from sqlalchemy import Connection

from crawler.errors import ConfigError, UserError
from crawler.secret_refs import resolve_reference
from storage import audit_store

PURPOSE = "chanwatch audit checkpoint"
"""Part of the signed bytes, so a signature over anything else is never a checkpoint's."""


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def key_id(key: Ed25519PublicKey) -> str:
    """16 hex digits naming a public key (its raw bytes' SHA-256, shortened)."""
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key as `audit keygen` prints it: 64 hex digits."""
    try:
        raw = bytes.fromhex(text.strip())
        if len(raw) != 32:
            raise ValueError
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise UserError("a public key is 64 hex digits (as `audit keygen` prints it)") from None


def load_signing_key(reference: str | None) -> Ed25519PrivateKey:
    """The private key named by `audit.signing_key` (`file:PATH` or `env:VAR`, PEM)."""
    if reference is None:
        raise ConfigError(
            "audit.signing_key is not set: make a key with `chanwatch audit keygen PATH`, "
            'then set signing_key = "file:PATH" in [audit]'
        )
    pem = resolve_reference(reference, "audit.signing_key")
    try:
        key = load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        # Never echo the value: it is (or was meant to be) a private key.
        raise ConfigError("audit.signing_key: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("audit.signing_key: not an Ed25519 key")
    return key


def keygen(path: Path) -> Ed25519PublicKey:
    """Write a new private key (PEM, mode 0600) to a new file at `path`; its public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        # O_EXCL: never overwrite a key that earlier checkpoints were signed with; the mode is
        # set at creation, so the key is never readable by others, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UserError(f"{path} exists: a key is never overwritten") from None
    except OSError as exc:
        raise UserError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key.public_key()


def signed_bytes(checkpoint: dict[str, Any]) -> bytes:
    """What a checkpoint's signature covers."""
    return audit_store.canonical_bytes({
        "purpose": PURPOSE, "length": checkpoint["length"], "head": checkpoint["head_hash"],
        "at": checkpoint["at"], "key_id": checkpoint["key_id"],
    })  # fmt: skip


def checkpoint(conn: Connection, key: Ed25519PrivateKey) -> dict[str, Any]:
    """Sign the chain's current (length, head) and store the checkpoint; it is returned."""
    length, head = audit_store.head_of(conn)
    if length == 0:
        raise UserError("the audit log is empty: there is nothing to checkpoint")
    record: dict[str, Any] = {
        "length": length, "head_hash": head, "at": datetime.now(UTC),
        "key_id": key_id(key.public_key()),
    }  # fmt: skip
    record["signature"] = key.sign(signed_bytes(record)).hex()
    record["id"] = audit_store.add_checkpoint(conn, record)
    return record


@dataclass
class Report:
    rows: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    """At most one for the chain (its first broken row) and one for the checkpoints."""

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(conn: Connection, trusted: Iterable[Ed25519PublicKey]) -> Report:
    """Walk the chain from row 1 and check every checkpoint against it and its signature."""
    keys = {key_id(key): key for key in trusted}
    stored = audit_store.checkpoints(conn)
    if stored and not keys:
        raise UserError(
            f"{len(stored)} checkpoint(s) cannot be checked without a public key: "
            "set audit.signing_key or give --public-key"
        )
    wanted = {cp["length"] for cp in stored}
    report, heads = Report(checkpoints=len(stored)), {}
    expected, previous = 1, audit_store.GENESIS
    for row in audit_store.rows(conn):
        report.rows += 1
        problem = _row_problem(row, expected, previous)
        if problem and not any(p.startswith("audit row") for p in report.problems):
            report.problems.append(problem)
        recomputed = audit_store.row_hash(row)
        if row["seq"] in wanted:
            heads[row["seq"]] = recomputed
        expected, previous = row["seq"] + 1, row["hash"]
    for cp in stored:
        problem = _checkpoint_problem(cp, keys, heads)
        if problem:
            report.problems.append(problem)
            break
    return report


def _row_problem(row: dict[str, Any], expected: int, previous: str) -> str | None:
    seq = row["seq"]
    if seq != expected:
        return f"audit row {expected} is missing (the next row is {seq})"
    if row["prev_hash"] != previous:
        return f"audit row {seq}: prev_hash does not match row {seq - 1}'s hash"
    if audit_store.row_hash(row) != row["hash"]:
        return f"audit row {seq}: its content does not match its hash (edited)"
    return None


def _checkpoint_problem(
    cp: dict[str, Any], keys: dict[str, Ed25519PublicKey], heads: dict[int, str]
) -> str | None:
    name = f"checkpoint {cp['id']} (row {cp['length']}, {audit_store.iso_utc(cp['at'])})"
    key = keys.get(cp["key_id"])
    if key is None:
        return f"{name}: signed by key {cp['key_id']}, which is not trusted"
    try:
        key.verify(bytes.fromhex(cp["signature"]), signed_bytes(cp))
    except (InvalidSignature, ValueError):
        return f"{name}: the signature is invalid"
    if cp["length"] not in heads:
        return f"{name}: the chain no longer has row {cp['length']}"
    if heads[cp["length"]] != cp["head_hash"]:
        return f"{name}: the chain's row {cp['length']} is not the signed head (rewritten)"
    return None


def trusted_keys(
    reference: str | None, public_keys: Sequence[str]
) -> list[Ed25519PublicKey]:
    """The keys checkpoints may be signed with: those given, else the configured key's."""
    if public_keys:
        return [parse_public_key(text) for text in public_keys]
    if reference is None:
        return []
    return [load_signing_key(reference).public_key()]
