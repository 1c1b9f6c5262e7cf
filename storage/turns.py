"""Writers that take turns, inside the caller's transaction and until it ends: one at a time
per key on PostgreSQL (a transaction-level advisory lock), one at a time on SQLite, whose one
write lock covers the whole database.

Used where a read decides a write and no key can make the database refuse a second writer:
the audit chain's head, "is this alert or item new", a source known only by its username.
"""

from __future__ import annotations

from hashlib import sha256

from sqlalchemy import Connection, text

_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_BEGIN_WRITING = "UPDATE alembic_version SET version_num = version_num WHERE 0"
"""Changes nothing (every migrated database has the table), but SQLite takes its write lock at
a writing statement's start, whether or not a row matches; a no-op once the lock is held."""


def take_turn(conn: Connection, key: int) -> None:
    """Wait until no other transaction holds `key`'s turn (on SQLite: any write)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_ADVISORY_LOCK, {"key": key})
    else:
        sqlite_write_lock(conn)


def sqlite_write_lock(conn: Connection) -> None:
    """Hold SQLite's write lock from here on, so the reads that follow see every committed
    write: pysqlite runs the reads before a transaction's first write outside it."""
    conn.exec_driver_sql(_BEGIN_WRITING)


def name_key(name: str) -> int:
    """A 64-bit `take_turn` key for a name."""
    return int.from_bytes(sha256(name.encode()).digest()[:8], "big", signed=True)
