"""Alembic migrations, run programmatically so no alembic.ini has to sit in the working dir;
and on PostgreSQL, the job queue's schema (Procrastinate's, for `chanwatch worker`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from storage.engine import check_postgres_ctype


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    check_postgres_ctype(engine)
    command.upgrade(_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(_config(engine)).get_current_head()


# Any constant both processes agree on: two `db upgrade`s at once must not both install.
_JOB_QUEUE_LOCK = 0x6377_6A71


def job_queue_installed(engine: Engine) -> bool:
    """Whether Procrastinate's tables exist (never on SQLite: workers need PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return _has_job_queue(conn)


def upgrade_job_queue(engine: Engine) -> bool:
    """Install Procrastinate's schema on PostgreSQL when absent; True when it was installed.

    SQLite has no job queue (`chanwatch run` needs none) and is left alone.
    """
    if engine.dialect.name != "postgresql":
        return False
    # Imported here: every command checks the schema through this module, and Procrastinate
    # takes a tenth of a second to import.
    from procrastinate.schema import SchemaManager

    with engine.begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_JOB_QUEUE_LOCK})")
        if _has_job_queue(conn):
            return False
        # The schema is many statements; psycopg sends a query without parameters as one
        # simple query, so it goes through the driver as written (no %-escaping, no splitting).
        conn.connection.driver_connection.execute(SchemaManager.get_schema())
    return True


def _has_job_queue(conn: Connection) -> bool:
    return conn.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar() is not None
