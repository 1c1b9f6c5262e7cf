"""Throw-away databases for the benchmarks: a fresh SQLite file, or a PostgreSQL database
created for one run and dropped after it (127.0.0.1:5432, or ``CHANWATCH_TEST_DATABASE_URL``).
Both are migrated to the current schema, as `chanwatch db upgrade` would."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from storage.engine import make_engine
from storage.migrate import upgrade

PG_ADMIN = os.environ.get(
    "CHANWATCH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def sqlite_engine(directory: str | Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{Path(directory) / name}.db")
    upgrade(engine)
    return engine


@contextlib.contextmanager
def postgres_engine() -> Iterator[Engine]:
    """A fresh database with the UTF-8 ctype chanwatch requires, dropped on the way out."""
    name = f"chanwatch_bench_{uuid.uuid4().hex[:8]}"
    utf8 = "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
    with _postgres_database(name, utf8) as engine:
        upgrade(engine)
        yield engine


@contextlib.contextmanager
def copy_of(engine: Engine) -> Iterator[Engine]:
    """A copy of a throw-away database (a file copy, or a PostgreSQL database made from it as
    a template), dropped on the way out: one state measured twice, by two ways of working."""
    if engine.dialect.name != "sqlite":
        engine.dispose()  # a template may have no other session
        source = engine.url.database
        with _postgres_database(f"{source}_copy", f"TEMPLATE {source}") as copy:
            yield copy
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    source_path = Path(str(engine.url.database))
    target = source_path.with_name(f"{source_path.stem}-copy{source_path.suffix}")
    shutil.copyfile(source_path, target)
    copy = make_engine(f"sqlite:///{target}")
    try:
        yield copy
    finally:
        copy.dispose()
        target.unlink()


@contextlib.contextmanager
def _postgres_database(name: str, how: str) -> Iterator[Engine]:
    """``CREATE DATABASE name how`` on the server, dropped on the way out."""
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # Names are ours (a uuid, or a name made so); nothing here comes from input.
        conn.execute(text(f"CREATE DATABASE {name} {how}"))
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
