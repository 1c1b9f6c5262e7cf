"""Driver-level batch execution for the hot ingest statements.

SQLAlchemy's per-row parameter processing and multi-VALUES compilation cost more than the
database work itself at ingest volumes, so the few statements on that path are compiled once per
dialect. SQLite gets the driver's executemany. PostgreSQL gets one statement per batch that
reads its rows from `unnest` of one array per column: per-row statements, even pipelined, left
the server doing statement overhead for a third of the rows it could write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Row, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.dml import Insert

from storage.models.base import UTCDateTime

_PG = PGDialect_psycopg()
_SQLITE = SQLiteDialect_pysqlite(paramstyle="named")


@cache
def _sqlite_sql(statement: ClauseElement) -> str:
    return str(statement.compile(dialect=_SQLITE))


@cache
def _postgres_sql(statement: Insert, table: Table) -> str:
    # The compiled INSERT is "head VALUES (binds) conflict [RETURNING pk]": keep head and
    # conflict, replace the VALUES group, and drop the implicit RETURNING of single-row inserts.
    compiled = str(statement.compile(dialect=_PG)).split(" RETURNING ")[0]
    head, values_and_rest = compiled.split(" VALUES ", 1)
    depth = 0
    end = 0
    for end, char in enumerate(values_and_rest):  # noqa: B007 - the loop finds `end`
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            break
    conflict = values_and_rest[end + 1 :]
    names = head[head.index("(") + 1 : head.rindex(")")].split(", ")
    arrays = ", ".join(f"%({name})s::{table.c[name].type.compile(dialect=_PG)}[]" for name in names)
    # Identifiers and types come from our own table metadata; values travel as parameters.
    return f"{head} SELECT * FROM unnest({arrays}){conflict}"  # noqa: S608


def insert_statement(dialect_name: str, table: Table, columns: Sequence[str]) -> Insert:
    """An INSERT with a named bind per column, ready for on-conflict clauses."""
    module = postgresql if dialect_name == "postgresql" else sqlite
    return module.insert(table).values({name: bindparam(name) for name in columns})


@cache
def _kinds(table: Table) -> dict[str, str]:
    kinds = {}
    for column in table.c:
        if isinstance(column.type, UTCDateTime):
            kinds[column.name] = "datetime"
        elif column.type._type_affinity.__name__ == "JSON":
            kinds[column.name] = "json"
    return kinds


def executemany(
    conn: Connection,
    statement: Insert,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    returning: str | None = None,
) -> list[Row[Any]]:
    """Run `statement` (from insert_statement) for every row, as one batch.

    The rows are handed over: their datetime and JSON values are converted in place.

    `returning` (PostgreSQL only: SQLite's executemany cannot return rows) is a RETURNING list
    of columns of `table`; its rows come back in no particular order.
    """
    if not rows:
        return []
    kinds = _kinds(table)
    if conn.dialect.name == "sqlite":
        if returning is not None:
            raise ValueError("SQLite batches cannot return rows")
        dates: dict[datetime, str] = {}
        params = [_adapt_sqlite(row, kinds, dates) for row in rows]
        conn.exec_driver_sql(_sqlite_sql(statement), params)
        return []
    adapted = [_adapt_postgres(row, kinds) for row in rows]
    columns = {name: [row[name] for row in adapted] for name in adapted[0]}
    sql = _postgres_sql(statement, table)
    if returning is None:
        conn.exec_driver_sql(sql, columns)
        return []
    return list(conn.exec_driver_sql(f"{sql} RETURNING {returning}", columns))


def _adapt_sqlite(
    row: dict[str, Any], kinds: dict[str, str], dates: dict[datetime, str]
) -> dict[str, Any]:
    for name, kind in kinds.items():
        value = row.get(name)
        if value is None:
            continue
        if kind == "datetime":
            # Rows of a batch share most of their times (when it was observed).
            text = dates.get(value)
            if text is None:
                text = dates[value] = _sqlite_datetime(value)
            row[name] = text
        else:
            row[name] = _EMPTY_JSON.get(type(value)) if not value else _json(value)
    return row


def _adapt_postgres(row: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    for name, kind in kinds.items():
        value = row.get(name)
        if value is not None:
            row[name] = _aware(value) if kind == "datetime" else Jsonb(value)
    return row


_EMPTY_JSON = {list: "[]", dict: "{}", tuple: "[]"}
_json = json.JSONEncoder(ensure_ascii=False).encode


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; times are UTC and aware")
    return value


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's own storage format for SQLite datetimes, so rows read back identically."""
    offset = _aware(value).utcoffset()
    if offset:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]
