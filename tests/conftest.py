"""Shared fixtures: every database test runs on SQLite and on the real PostgreSQL server.

PostgreSQL comes from CHANWATCH_TEST_DATABASE_URL (default: the local server). Each test run
creates its own database with a UTF-8 ctype (Hangul has no trigrams under C) and drops it at
the end, so two runs at once never collide. An unreachable server skips that leg with a reason,
except under CI=true, where it fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Base

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _real_connect_guard() -> None:
    """No test may dial anything but loopback: the machine has no network, and a test that
    tries is a defect (a collector reaching for Telegram, a spider for a real site)."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if not _is_loopback(str(host)):
                raise ConnectionRefusedError(f"test tried to reach non-loopback {address!r}")
        return original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.") or host == "::ffff:127.0.0.1"


_real_connect_guard()


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


# CI runs Hypothesis derandomized, so a red build is the same build on a re-run; a test's own
# @settings(max_examples=…) still wins over the profile's.
settings.register_profile("ci", derandomize=True, max_examples=50)
if _ci():
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this test run on the PostgreSQL server, dropped afterwards."""
    base = make_url(os.environ.get("CHANWATCH_TEST_DATABASE_URL", DEFAULT_PG_URL))
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    name = f"chanwatch_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                    "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
                )
            )
    except Exception as exc:  # any failure to reach the server decides the leg
        admin.dispose()
        reason = f"PostgreSQL at {base.render_as_string()} is unusable: {exc.__class__.__name__}"
        if _ci():
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)", pytrace=False)
        pytest.skip(reason)
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, so migrations run once per session."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database, once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "chanwatch.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    engine: Engine = request.getfixturevalue("postgres_engine")
    truncate_all(engine)
    yield request.getfixturevalue("postgres_url")
    truncate_all(engine)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def truncate_all(engine: Engine, *others: str) -> None:
    """Empty every table of a PostgreSQL test database (and `others`, tables outside the ORM
    such as the job queue's)."""
    # item_fts is storage.search's own table, outside the ORM metadata.
    names = [table.name for table in Base.metadata.sorted_tables] + ["item_fts", *others]
    with engine.begin() as conn:
        # The audit tables refuse TRUNCATE by trigger (migration 0008). Test isolation is the
        # one place that may empty them: in replica mode ordinary triggers do not fire, for
        # this transaction only (SET LOCAL; needs a superuser, which the test server gives).
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(_TRUNCATE_USED.replace(":names", _array(names))))


def _array(names: list[str]) -> str:
    # Our own table names, as an SQL array literal (a DO block takes no bind parameters).
    assert all(name.replace("_", "").isalnum() for name in names)
    return "ARRAY[" + ", ".join(f"'{name}'" for name in names) + "]::text[]"


_TRUNCATE_USED = """
DO $$
DECLARE
    name text;
    used text[] := '{}';
    has_rows boolean;
BEGIN
    FOREACH name IN ARRAY :names LOOP
        CONTINUE WHEN to_regclass(quote_ident(name)) IS NULL;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', name) INTO has_rows;
        IF has_rows THEN
            used := used || name;
        END IF;
    END LOOP;
    IF cardinality(used) > 0 THEN
        EXECUTE 'TRUNCATE ' || array_to_string(
            ARRAY(SELECT format('%I', u) FROM unnest(used) AS u), ', ') || ' CASCADE';
    END IF;
    PERFORM setval(sequence.oid, 1, false)
    FROM pg_class AS sequence
    JOIN pg_depend AS owner ON owner.objid = sequence.oid AND owner.deptype IN ('a', 'i')
    JOIN pg_class AS owning ON owning.oid = owner.refobjid
    WHERE sequence.relkind = 'S' AND owning.relname = ANY (:names);
END $$
"""
"""TRUNCATE only the tables with rows (a TRUNCATE of every table cost ~0.1 s a test, twice
per PostgreSQL test: new files for ~100 tables and indexes), then start every sequence of
the tables over, used or not, as RESTART IDENTITY would."""
