"""Engines and sessions: SQLite (WAL, foreign keys on) by default, PostgreSQL in production."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from storage.search import register_sqlite_functions

# Hangul has no trigrams, and so no index-assisted search, under a C or POSIX ctype.
_BAD_CTYPES = {"C", "POSIX"}


class DatabaseError(Exception):
    """The database cannot be used as configured."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def in_memory(engine: Engine) -> bool:
    """A SQLite database in memory: each thread's connection (SQLAlchemy's
    SingletonThreadPool) and each forked process sees a database of its own."""
    url = engine.url
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # Larger pages and rarer checkpoints suit this write-heavy workload: ingest touches several
    # indexes per post, and each checkpoint copies every page the WAL holds. page_size only
    # takes effect on a new database, before its first table.
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA wal_autocheckpoint=2000")
    # 64 MiB of page cache: ingest batches touch several indexes of large tables.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()
    register_sqlite_functions(dbapi_connection)


def check_postgres_ctype(engine: Engine) -> None:
    """Refuse a PostgreSQL database whose ctype would silently break Korean search."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        ctype = conn.execute(
            text("SELECT datctype FROM pg_database WHERE datname = current_database()")
        ).scalar_one()
    if ctype in _BAD_CTYPES:
        raise DatabaseError(
            f"database ctype is {ctype!r}: Korean search needs a UTF-8 ctype "
            "(CREATE DATABASE … TEMPLATE template0 LC_CTYPE 'C.UTF-8')"
        )
