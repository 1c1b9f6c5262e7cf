"""Watchlists and targets: the narrow interface the CLI, the importer and the scheduler use."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Update,
    and_,
    bindparam,
    column,
    delete,
    func,
    or_,
    select,
    update,
    values,
)

from storage.models import Target, Watchlist

_targets = Target.__table__
_lists = Watchlist.__table__


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A validated target as staff asked for it."""

    kind: str
    locator: str
    interval_s: int
    tags: tuple[str, ...] = ()
    note: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class TargetRow:
    id: int
    watchlist: str
    kind: str
    locator: str
    interval_s: int
    tags: list[str]
    note: str | None
    options: dict[str, Any]
    priority: int
    enabled: bool
    added_by: str | None
    added_at: datetime
    next_due_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    consecutive_failures: int


_ROW_COLUMNS = (
    "kind", "locator", "interval_s", "tags", "note", "options", "priority", "enabled",
    "added_by", "added_at", "next_due_at", "last_run_at", "last_status", "consecutive_failures",
)  # fmt: skip


def watchlist_id(
    conn: Connection, name: str, *, create: bool, at: datetime, description: str | None = None
) -> int | None:
    found = conn.execute(select(_lists.c.id).where(_lists.c.name == name)).scalar()
    if found is not None:
        if description:
            conn.execute(update(_lists).where(_lists.c.id == found).values(description=description))
        return found
    if not create:
        return None
    return conn.execute(
        _lists.insert()
        .values(name=name, description=description, created_at=at)
        .returning(_lists.c.id)
    ).scalar_one()


def add_target(
    conn: Connection,
    list_name: str,
    spec: TargetSpec,
    *,
    added_by: str | None,
    at: datetime,
    description: str | None = None,
) -> bool:
    """Add `spec` to the list; False (and nothing changed) when it is already watched there."""
    list_id = watchlist_id(conn, list_name, create=True, at=at, description=description)
    exists = conn.execute(
        select(_targets.c.id).where(
            _targets.c.watchlist_id == list_id,
            _targets.c.kind == spec.kind,
            _targets.c.locator == spec.locator,
        )
    ).scalar()
    if exists is not None:
        return False
    conn.execute(
        _targets.insert().values(
            watchlist_id=list_id,
            kind=spec.kind,
            locator=spec.locator,
            interval_s=spec.interval_s,
            tags=list(spec.tags),
            note=spec.note,
            options=spec.options,
            priority=spec.priority,
            enabled=spec.enabled,
            added_by=added_by,
            added_at=at,
            next_due_at=at,
        )
    )
    return True


def _targets_named(locator: str, list_name: str | None, kind: str | None) -> ColumnElement[bool]:
    conditions = [_targets.c.locator == locator]
    if kind is not None:
        conditions.append(_targets.c.kind == kind)
    if list_name is not None:
        conditions.append(
            _targets.c.watchlist_id.in_(select(_lists.c.id).where(_lists.c.name == list_name))
        )
    return and_(*conditions)


def remove_targets(
    conn: Connection, locator: str, *, list_name: str | None = None, kind: str | None = None
) -> int:
    return conn.execute(delete(_targets).where(_targets_named(locator, list_name, kind))).rowcount


def set_targets_enabled(
    conn: Connection,
    locator: str,
    enabled: bool,
    *,
    list_name: str | None = None,
    kind: str | None = None,
) -> int:
    """Enable or disable the targets `locator` names; how many there are (changed or not)."""
    where = _targets_named(locator, list_name, kind)
    return conn.execute(update(_targets).where(where).values(enabled=enabled)).rowcount


def list_targets(
    conn: Connection,
    *,
    list_name: str | None = None,
    locator: str | None = None,
    kinds: Sequence[str] | None = None,
    due_at: datetime | None = None,
    enabled_only: bool = False,
) -> list[TargetRow]:
    """Targets, by list then locator; `due_at` keeps enabled targets due at that time,
    `enabled_only` enabled targets whether due or not."""
    columns = [_targets.c[name] for name in _ROW_COLUMNS]
    query = select(_targets.c.id, _lists.c.name, *columns).join(
        _lists, _lists.c.id == _targets.c.watchlist_id
    )
    if list_name is not None:
        query = query.where(_lists.c.name == list_name)
    if locator is not None:
        query = query.where(_targets.c.locator == locator)
    if kinds is not None:
        query = query.where(_targets.c.kind.in_(list(kinds)))
    if enabled_only or due_at is not None:
        query = query.where(_targets.c.enabled)
    if due_at is not None:
        query = query.where(or_(_targets.c.next_due_at.is_(None), _targets.c.next_due_at <= due_at))
    query = query.order_by(
        _lists.c.name, _targets.c.priority.desc(), _targets.c.locator, _targets.c.kind
    )
    return [TargetRow(*row) for row in conn.execute(query)]


def list_names(conn: Connection) -> list[tuple[str, str | None, int]]:
    """(name, description, target count) of every watchlist."""
    count = func.count(_targets.c.id)
    query = (
        select(_lists.c.name, _lists.c.description, count)
        .select_from(_lists.outerjoin(_targets, _targets.c.watchlist_id == _lists.c.id))
        .group_by(_lists.c.id, _lists.c.name, _lists.c.description)
        .order_by(_lists.c.name)
    )
    return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def record_crawl(
    conn: Connection,
    kind: str,
    locator: str,
    *,
    status: str,
    failed: bool,
    succeeded: bool,
    error: str | None,
    at: datetime,
    next_due_at: datetime,
) -> None:
    """Record a run on every target that watches `locator` (one crawl serves every watchlist
    holding it). ``failed`` counts towards consecutive failures; ``succeeded`` (the target was
    actually collected) moves ``last_success_at``. A deferred run is neither."""
    params = {
        "b_kind": kind, "b_locator": locator, "b_at": at, "b_status": status, "b_error": error,
        "b_next_due_at": next_due_at,
    }  # fmt: skip
    conn.execute(_record_crawl(failed, succeeded), params)


@functools.cache
def _record_crawl(failed: bool, succeeded: bool) -> Update:
    """`record_crawl`'s statement, built once per case."""
    at = bindparam("b_at", type_=_targets.c.last_run_at.type)
    values: dict[str, Any] = {
        "last_run_at": at,
        "last_status": bindparam("b_status"),
        "last_error": bindparam("b_error"),
        "next_due_at": bindparam("b_next_due_at"),
        "consecutive_failures": _targets.c.consecutive_failures + 1 if failed else 0,
    }
    if succeeded:
        values["last_success_at"] = at
    return update(_targets).where(*_LOCATOR).values(**values)


# (Names unlike the columns': an UPDATE keeps those for its SET clause.)
_LOCATOR = (_targets.c.kind == bindparam("b_kind"), _targets.c.locator == bindparam("b_locator"))
_LAST_RUN_AT = select(func.max(_targets.c.last_run_at)).where(*_LOCATOR)


def last_run_at(conn: Connection, kind: str, locator: str) -> datetime | None:
    """When `locator` was last crawled (any watchlist's row: they are recorded together)."""
    return conn.execute(_LAST_RUN_AT, {"b_kind": kind, "b_locator": locator}).scalar()


def postpone(conn: Connection, kind: str, locator: str, until: datetime) -> None:
    """Move the due time of every target watching `locator` (a queued crawl's provisional
    next due time, so the next enqueue pass does not queue it again)."""
    conn.execute(
        update(_targets)
        .where(_targets.c.kind == kind, _targets.c.locator == locator)
        .values(next_due_at=until)
    )


def postpone_many(conn: Connection, until: Sequence[tuple[str, str, datetime]]) -> None:
    """`postpone` for many (kind, locator, until) in one statement."""
    if not until:
        return
    due = values(
        column("kind", _targets.c.kind.type),
        column("locator", _targets.c.locator.type),
        column("until", _targets.c.next_due_at.type),
        name="postponed",
    ).data(list(until))
    conn.execute(
        update(_targets)
        .where(_targets.c.kind == due.c.kind, _targets.c.locator == due.c.locator)
        .values(next_due_at=due.c.until)
    )


def due_targets(
    conn: Connection, now: datetime, *, kinds: Sequence[str], limit: int
) -> list[TargetRow]:
    """Up to `limit` enabled targets due at `now`, most overdue first (never run: first of
    all), then by priority. Served by the (enabled, next_due_at) index, so a scheduler tick
    stays cheap however many targets are due."""
    columns = [_targets.c[name] for name in _ROW_COLUMNS]
    query = (
        select(_targets.c.id, _lists.c.name, *columns)
        .join(_lists, _lists.c.id == _targets.c.watchlist_id)
        .where(
            _targets.c.enabled,
            or_(_targets.c.next_due_at.is_(None), _targets.c.next_due_at <= now),
            _targets.c.kind.in_(list(kinds)),
        )
        .order_by(
            _targets.c.next_due_at.is_not(None),
            _targets.c.next_due_at,
            _targets.c.priority.desc(),
            _targets.c.id,
        )
        .limit(limit)
    )
    return [TargetRow(*row) for row in conn.execute(query)]


def next_due_at(conn: Connection, after: datetime, *, kinds: Sequence[str]) -> datetime | None:
    """When the next enabled target falls due after `after` (None: none ever will)."""
    return conn.execute(
        select(func.min(_targets.c.next_due_at)).where(
            _targets.c.enabled, _targets.c.next_due_at > after, _targets.c.kind.in_(list(kinds))
        )
    ).scalar()


def count_due(conn: Connection, now: datetime, *, kinds: Sequence[str]) -> int:
    """How many enabled targets are due at `now` (the scheduler's backlog)."""
    return conn.execute(
        select(func.count()).where(
            _targets.c.enabled,
            or_(_targets.c.next_due_at.is_(None), _targets.c.next_due_at <= now),
            _targets.c.kind.in_(list(kinds)),
        )
    ).scalar_one()
