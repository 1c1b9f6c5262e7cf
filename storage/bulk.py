"""Driver-level batch execution for the hot ingest statements, and raw reads for scans.

SQLAlchemy's per-row parameter processing and multi-VALUES compilation cost more than the
database work itself at ingest volumes, so the few statements on that path are compiled once per
dialect. SQLite gets the driver's executemany; PostgreSQL gets COPY into a staging table and one
INSERT … SELECT per batch. Likewise its Row objects and result processing cost more than a scan
of every stored text (``stream``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from psycopg.postgres import types as psycopg_types
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Row, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.dml import Insert

from storage.models.base import UTCDateTime

_PG = PGDialect_psycopg()
_SQLITE = SQLiteDialect_pysqlite()


@cache
def _sqlite_positional(statement: ClauseElement) -> tuple[str, tuple[str, ...]]:
    """The statement with `?` binds, and the column each bind takes, in order."""
    compiled = statement.compile(dialect=_SQLITE)
    return str(compiled), tuple(compiled.positiontup or ())


@dataclass(frozen=True, slots=True)
class _StagedInsert:
    columns: tuple[str, ...]
    create_stage: str
    copy: str
    insert: str


@cache
def _postgres_staged(statement: Insert, table: Table) -> _StagedInsert:
    # The compiled INSERT is "head VALUES (binds) conflict [RETURNING pk]": keep head and
    # conflict, read the rows from a staging table instead of VALUES, and drop the implicit
    # RETURNING of single-row inserts.
    compiled = str(statement.compile(dialect=_PG)).split(" RETURNING ")[0]
    head, values_and_rest = compiled.split(" VALUES ", 1)
    depth = 0
    end = 0
    for end, char in enumerate(values_and_rest):  # noqa: B007 - the loop finds `end`
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            break
    conflict = values_and_rest[end + 1 :]
    columns = tuple(head[head.index("(") + 1 : head.rindex(")")].split(", "))
    column_list = ", ".join(columns)
    stage = f"_cw_stage_{table.name}_{len(columns)}"
    # Identifiers come from our own table metadata; values travel through COPY.
    # The INSERT empties the stage as it reads it (a DELETE … RETURNING in a CTE), so the stage
    # needs no truncation between batches; a failed batch rolls its rows back with it.
    return _StagedInsert(
        columns=columns,
        create_stage=(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS "  # noqa: S608
            f"SELECT {column_list} FROM {table.name} WITH NO DATA"
        ),
        copy=f"COPY {stage} ({column_list}) FROM STDIN (FORMAT BINARY)",
        insert=(
            f"WITH staged AS (DELETE FROM {stage} RETURNING {column_list}) "  # noqa: S608
            f"{head} SELECT {column_list} FROM staged{conflict}"
        ),
    )


@cache
def _copy_types(table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The PostgreSQL type of each column, for a binary COPY: psycopg then packs each value
    with the dumper of its column's type, a quarter less work than formatting it as text.
    A type psycopg does not know by name fails here, on the first write of that table."""
    names = []
    for name in columns:
        spelled = table.c[name].type.compile(dialect=_PG).lower().split("(")[0]
        info = psycopg_types.get(_PG_ALIASES.get(spelled, spelled))
        if info is None:
            raise TypeError(f"no binary COPY type for {table.name}.{name} ({spelled})")
        names.append(info.name)
    return tuple(names)


_PG_ALIASES = {"float": "float8"}
"""SQLAlchemy's spellings the type registry does not know: Float compiles to FLOAT."""


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
    then: str | None = None,
    params: dict[str, Any] | None = None,
) -> list[Row[Any]]:
    """Run `statement` (from insert_statement) for every row, as one batch.

    The rows are handed over: they may be converted in place.

    `returning` (PostgreSQL only: SQLite's executemany cannot return rows) is a RETURNING list
    of columns of `table`; its rows come back in no particular order.

    `then` (PostgreSQL only, with `returning`) is a data-modifying statement run in the same
    statement on the returned rows, which it reads as `written`, with `params` bound (psycopg
    `%(name)s` style): work that follows from each written row costs no second batch.
    """
    if not rows:
        return []
    kinds = _kinds(table)
    if conn.dialect.name == "sqlite":
        if returning is not None:
            raise ValueError("SQLite batches cannot return rows")
        sql, names = _sqlite_positional(statement)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, _sqlite_params(rows, names, kinds))
        finally:
            cursor.close()
        return []
    staged = _postgres_staged(statement, table)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # Per-row statements, even pipelined, spent most of the server's time on statement
        # overhead: COPY into a session-local staging table, then one INSERT … SELECT.
        cursor.execute(staged.create_stage)
        with cursor.copy(staged.copy) as copy:
            copy.set_types(_copy_types(table, staged.columns))
            for row in rows:
                _adapt_postgres(row, kinds)
                copy.write_row([row[name] for name in staged.columns])
        if returning is None:
            cursor.execute(staged.insert)
            return []
        if then is None:
            cursor.execute(f"{staged.insert} RETURNING {returning}")
        else:
            # staged.insert begins "WITH staged AS (…) INSERT": the INSERT becomes a CTE too.
            # `then` and `returning` are storage's own SQL; values travel in `params`.
            cte, insert = staged.insert.split(") INSERT ", 1)
            cursor.execute(
                f"{cte}), written AS (INSERT {insert} RETURNING {returning}), "  # noqa: S608
                f"followed AS ({then}) SELECT * FROM written",
                params,
            )
        return cursor.fetchall()
    finally:
        cursor.close()


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Plain INSERT of rows that cannot conflict (all with the same keys: columns of `table`;
    the rest take their defaults). SQLite: the driver's executemany. PostgreSQL: COPY straight
    into the table, which fires its insert triggers and fills its defaults as an INSERT would,
    with no staging table since there is no conflict to resolve.

    The rows are handed over: they may be converted in place.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    if conn.dialect.name != "postgresql":
        executemany(conn, _plain_insert(conn.dialect.name, table, columns), table, rows)
        return
    kinds = _kinds(table)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # Identifiers come from our own table metadata; values travel through COPY.
        copying = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(copying) as copy:
            copy.set_types(_copy_types(table, columns))
            for row in rows:
                _adapt_postgres(row, kinds)
                copy.write_row([row[name] for name in columns])
    finally:
        cursor.close()


@cache
def _plain_insert(dialect_name: str, table: Table, columns: tuple[str, ...]) -> Insert:
    return insert_statement(dialect_name, table, columns)


_cursor_names = itertools.count()


def stream(
    conn: Connection, statement: Select[Any], params: dict[str, Any], size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of `statement` as the driver returns them, `size` at a time: plain tuples, no
    type processing (SQLite datetimes stay their stored text; convert the few rows you keep
    with the column type's ``process_result_value``). PostgreSQL reads through a server-side
    cursor, so one batch is in memory at a time.

    `statement` must be built once (it keys a compile cache) with named binds; `params` gives
    their values (datetimes aware).
    """
    if conn.dialect.name == "sqlite":
        sql, names = _sqlite_positional(statement)
        values: Any = [_sqlite_value(params[name]) for name in names]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    else:
        sql, values = _postgres_sql(statement), {k: _pg_value(v) for k, v in params.items()}
        dbapi = conn.connection.dbapi_connection
        cursor = dbapi.cursor(name=f"_cw_stream_{next(_cursor_names)}")  # type: ignore[union-attr]
    try:
        cursor.execute(sql, values)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


@cache
def _postgres_sql(statement: ClauseElement) -> str:
    return str(statement.compile(dialect=_PG))


def _sqlite_value(value: Any) -> Any:
    return _sqlite_datetime(value) if isinstance(value, datetime) else value


def _pg_value(value: Any) -> Any:
    return _aware(value) if isinstance(value, datetime) else value


def _sqlite_params(
    rows: Sequence[dict[str, Any]], names: tuple[str, ...], kinds: dict[str, str]
) -> list[list[Any]]:
    """Positional parameters: sqlite3 binds them without a name lookup per value."""
    converted = [(index, kinds[name]) for index, name in enumerate(names) if name in kinds]
    dates: dict[datetime, str] = {}  # rows of a batch share most times (when it was observed)
    params = []
    for row in rows:
        values = [row[name] for name in names]
        for index, kind in converted:
            value = values[index]
            if value is None:
                continue
            if kind == "datetime":
                text = dates.get(value)
                if text is None:
                    text = dates[value] = _sqlite_datetime(value)
                values[index] = text
            else:
                values[index] = _EMPTY_JSON.get(type(value)) if not value else _json(value)
        params.append(values)
    return params


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
