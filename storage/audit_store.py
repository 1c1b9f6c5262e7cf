"""The audit log: an append-only chain of rows, each hashing its content and the row before.

What is hashed is defined once, here (`canonical_bytes`): JSON with sorted keys, no whitespace,
UTF-8, times as ISO 8601 UTC with microseconds. It is computed from the values the writer
holds, never from what the database returns (jsonb reorders keys and respaces), and the
verifier rebuilds the same record from the columns, so both sides hash identical bytes.

Concurrent writers. Row N's hash covers row N-1's, so appending is read-the-head-then-insert,
and two writers must never read the same head. The writer takes the chain's lock, reads the
head, computes `seq` = head + 1, `prev_hash` and `hash` in Python, and inserts; the lock is held
until its transaction commits, so the next writer's head read (a new statement, hence a new
snapshot under READ COMMITTED) sees that row.
- PostgreSQL: the lock is `pg_advisory_xact_lock(CHAIN_LOCK)`. `seq` has no sequence default
  (a `bigserial` value is drawn before any lock and would order rows by arrival, not by
  commit). The BEFORE INSERT trigger (migration 0008) takes the same lock, a no-op for a
  writer that holds it, and refuses a row whose `seq` and `prev_hash` do not extend the
  committed head; the unique `seq` and `prev_hash` refuse a fork even from a transaction whose
  snapshot is older than the lock (REPEATABLE READ): it fails instead of branching.
- SQLite: the lock is the database's write lock, taken by a no-op write before the head is
  read; the same insert trigger checks the head.
Hashing in the database instead would need the canonical JSON written twice (plpgsql and
Python) and kept equal forever: one definition in Python is the smaller thing to trust.

Nothing here updates or deletes: the database refuses both, and TRUNCATE (see 0008).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, distinct, func, select

from storage.models.operations import AuditCheckpoint, AuditLog
from storage.turns import take_turn

GENESIS = "0" * 64
"""The `prev_hash` of row 1."""
CHAIN_LOCK = 0x6377_6175_6469_7400
"""PostgreSQL advisory-lock key of the chain ("cwaudit"); migration 0008 repeats it."""
HASHED_FIELDS = (
    "seq", "at", "actor", "via", "os_user", "action", "subject", "details", "prev_hash",
)  # fmt: skip

_log, _checkpoints = AuditLog.__table__, AuditCheckpoint.__table__


def iso_utc(moment: datetime) -> str:
    """The one spelling of a time in hashed and signed bytes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8; datetimes in `iso_utc`. Only JSON's own types go
    in, and no floats: jsonb rewrites `1e+20` as an integer, which would change the bytes."""
    return json.dumps(
        _plain(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("audit details need string keys")
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("PostgreSQL cannot store NUL in text or jsonb")
        return value
    if value is None or isinstance(value, bool | int):
        return value
    raise TypeError(f"audit details cannot hold {type(value).__name__}")


def row_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a row's `HASHED_FIELDS`."""
    return hashlib.sha256(canonical_bytes({k: record[k] for k in HASHED_FIELDS})).hexdigest()


def append(
    conn: Connection,
    *,
    actor: str,
    via: str,
    os_user: str | None,
    action: str,
    subject: str,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """Add one row after the head in the caller's transaction and return it. Its time is
    taken under the chain's lock, so times never run backwards along the chain."""
    take_turn(conn, CHAIN_LOCK)
    length, head = head_of(conn)
    row = {
        "seq": length + 1, "at": datetime.now(UTC), "actor": actor, "via": via,
        "os_user": os_user, "action": action, "subject": subject,
        # Normalized before hashing, so what is stored is what was hashed.
        "details": json.loads(canonical_bytes(details)), "prev_hash": head,
    }  # fmt: skip
    row["hash"] = row_hash(row)
    conn.execute(_log.insert(), row)
    return row


def head_of(conn: Connection) -> tuple[int, str]:
    """(length, head hash) of the chain as this transaction sees it: (0, GENESIS) when empty."""
    row = conn.execute(
        select(_log.c.seq, _log.c.hash).order_by(_log.c.seq.desc()).limit(1)
    ).one_or_none()
    return (0, GENESIS) if row is None else (row.seq, row.hash)


def rows(conn: Connection, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every row in chain order, read in batches so a long chain never sits in memory."""
    after = 0
    while True:
        page = conn.execute(
            select(_log).where(_log.c.seq > after).order_by(_log.c.seq).limit(batch)
        ).all()
        for row in page:
            yield dict(row._mapping)
        if len(page) < batch:
            return
        after = page[-1].seq


def add_checkpoint(conn: Connection, checkpoint: Mapping[str, Any]) -> int:
    """Store a signed checkpoint (length, head_hash, at, key_id, signature); its id."""
    inserted = conn.execute(_checkpoints.insert().returning(_checkpoints.c.id), dict(checkpoint))
    return inserted.scalar_one()


def checkpoints(conn: Connection) -> list[dict[str, Any]]:
    query = select(_checkpoints).order_by(_checkpoints.c.id)
    return [dict(row._mapping) for row in conn.execute(query)]


def actor_did(
    conn: Connection, actor: str, action: str, subject: str, since: datetime
) -> bool:
    """Whether `actor` did `action` to `subject` at or after `since` (an index range)."""
    found = conn.execute(
        select(_log.c.seq)
        .where(_log.c.actor == actor, _log.c.action == action, _log.c.at >= since,
               _log.c.subject == subject)
        .limit(1)
    ).first()  # fmt: skip
    return found is not None


def actor_count(conn: Connection, actor: str, action: str, since: datetime) -> int:
    """How many distinct subjects `actor` did `action` to at or after `since`."""
    return int(
        conn.execute(
            select(func.count(distinct(_log.c.subject)))
            .where(_log.c.actor == actor, _log.c.action == action, _log.c.at >= since)
        ).scalar_one()
    )  # fmt: skip


def row_at(conn: Connection, seq: int) -> dict[str, Any] | None:
    row = conn.execute(select(_log).where(_log.c.seq == seq)).one_or_none()
    return None if row is None else dict(row._mapping)
