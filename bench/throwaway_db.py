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
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"chanwatch_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(
            text(
                f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            )
        )
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@contextlib.contextmanager
def copy_of(engine: Engine) -> Iterator[Engine]:
    """A copy of a throw-away database (a file copy, or a PostgreSQL database made from it as
    a template), dropped on the way out: one state measured twice, by two ways of working."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        source = Path(str(engine.url.database))
        target = source.with_name(f"{source.stem}-copy{source.suffix}")
        shutil.copyfile(source, target)
        copy = make_engine(f"sqlite:///{target}")
        try:
            yield copy
        finally:
            copy.dispose()
            target.unlink()
        return
    engine.dispose()  # a template may have no other session
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"{engine.url.database}_copy"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {engine.url.database}"))
    copy = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield copy
    finally:
        copy.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
