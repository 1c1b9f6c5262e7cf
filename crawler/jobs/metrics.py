"""Prometheus metrics for `chanwatch run` and `chanwatch worker`.

Two sources, one exposition:

- counters and gauges this process moves as it works (runs, flood waits, queue depth). They are
  process-local and exported by the process that owns them; nothing is shared through files;
- values read from the database when scraped (alerts by kind, accounts by state, overdue
  targets), so every process and machine on one database reports the same numbers. The read is
  cached briefly: a scraper polling every second must not become the database's busiest client.

Each `Metrics` owns its registry, never prometheus_client's global one, so two in one process
(tests, a worker beside a web app) cannot collide.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crawler.jobs.runner import TargetResult
from crawler.logging import get_logger
from crawler.matching.alerts import Kind
from crawler.telegram.accounts import LEASE_KIND
from storage import service_queries

# What `render` produces (the classic text format). prometheus_client's CONTENT_TYPE_LATEST
# moved to version 1.0.0 in later releases while generate_latest kept this default format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

log = get_logger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _DatabaseValues:
    alerts_by_kind: dict[str, int]
    accounts_by_state: dict[str, int]
    targets_overdue: int


class _DatabaseCollector:
    """The database-backed families, read at most once per `cache_for` of the injected clock."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        overdue_grace: timedelta,
        cache_for: timedelta,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._grace = overdue_grace
        self._cache_for = cache_for
        # Scrapes may arrive on several threads at once; one of them reads, the others wait
        # for its answer instead of each querying.
        self._lock = threading.Lock()
        self._read_at: datetime | None = None
        self._values: _DatabaseValues | None = None

    def collect(self) -> Iterator[Metric]:
        values = self._current()
        yield GaugeMetricFamily(
            "chanwatch_database_up",
            "1 when the last database read for these metrics succeeded, else 0.",
            value=0 if values is None else 1,
        )
        if values is None:
            return
        alerts = CounterMetricFamily(
            "chanwatch_alerts_raised",
            "Alerts stored, by kind (across every process: read from the database).",
            labels=["kind"],
        )
        # Known kinds appear at zero, so rate() sees a kind's first alert as an increase.
        by_kind = dict.fromkeys((str(kind) for kind in Kind), 0) | values.alerts_by_kind
        for kind, count in sorted(by_kind.items()):
            alerts.add_metric([kind], count)
        yield alerts
        accounts = GaugeMetricFamily(
            "chanwatch_telegram_accounts",
            "Telegram accounts by state: ok, flood_waiting, unauthorized, leased.",
            labels=["state"],
        )
        for state, count in values.accounts_by_state.items():
            accounts.add_metric([state], count)
        yield accounts
        yield GaugeMetricFamily(
            "chanwatch_targets_overdue",
            "Enabled targets whose next run is due further in the past than the grace period.",
            value=values.targets_overdue,
        )

    def _current(self) -> _DatabaseValues | None:
        with self._lock:
            now = self._clock()
            # A clock that went backwards (a stepped wall clock) also forces a fresh read.
            fresh = self._read_at is not None and self._read_at <= now < self._read_at + (
                self._cache_for
            )
            if not fresh:
                self._values = self._read(now)
                # A failed read is cached too: an unreachable database is not retried per scrape.
                self._read_at = now
            return self._values

    def _read(self, now: datetime) -> _DatabaseValues | None:
        try:
            with self._engine.connect() as conn:
                return _DatabaseValues(
                    service_queries.alert_counts_by_kind(conn),
                    service_queries.account_states(conn, now, LEASE_KIND),
                    service_queries.overdue_target_count(conn, now - self._grace),
                )
        except SQLAlchemyError as exc:
            # The class only: driver messages can name hosts and users.
            log.warning("metrics database read failed", error=exc.__class__.__name__)
            return None


class Metrics:
    """The metrics of one scheduling process; `render()` is its /metrics body.

    Without an engine only the process's own counters are exported (for a process that has no
    database to speak for). `clock` returns aware UTC times; it decides both what is overdue
    and how long a database read is reused.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
        overdue_grace: timedelta = timedelta(minutes=10),
        cache_for: timedelta = timedelta(seconds=5),
    ) -> None:
        self.registry = CollectorRegistry()
        self._runs = Counter(
            "chanwatch_runs",
            "Crawl runs finished by this process, by kind and status.",
            ["kind", "status"],
            registry=self.registry,
        )
        self._items = Counter(
            "chanwatch_items_ingested",
            "Items this process's runs stored, by kind and change (new or updated).",
            ["kind", "change"],
            registry=self.registry,
        )
        self._versions = Counter(
            "chanwatch_versions",
            "Item versions this process's runs added, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self._flood_waits = Counter(
            "chanwatch_flood_waits",
            "Telegram FLOOD_WAIT errors this process received.",
            registry=self.registry,
        )
        self._flood_seconds = Counter(
            "chanwatch_flood_wait_seconds",
            "Seconds of waiting those FLOOD_WAIT errors demanded.",
            registry=self.registry,
        )
        self._queue_depth = Gauge(
            "chanwatch_queue_depth",
            "Runs waiting in this process's queue.",
            registry=self.registry,
        )
        if engine is not None:
            self.registry.register(_DatabaseCollector(engine, clock, overdue_grace, cache_for))

    def record_run(
        self, kind: str, status: str, items_new: int, items_updated: int, versions: int
    ) -> None:
        """Count one finished run and what it stored; a negative count raises ValueError."""
        # Checked before anything moves, so a bad call leaves every counter as it was.
        if min(items_new, items_updated, versions) < 0:
            raise ValueError("run counts cannot be negative")
        self._runs.labels(kind=kind, status=status).inc()
        self._items.labels(kind=kind, change="new").inc(items_new)
        self._items.labels(kind=kind, change="updated").inc(items_updated)
        self._versions.labels(kind=kind).inc(versions)

    def record_result(self, result: TargetResult) -> None:
        """Count a finished run of the scheduler or a worker: its status, what it stored (an
        updated item is a new version), and a flood wait if Telegram answered with one."""
        counts, outcome = result.counts, result.outcome
        self.record_run(
            result.target.kind, outcome.status, counts.items_new, counts.items_updated,
            counts.items_updated,
        )  # fmt: skip
        if outcome.flood_wait_s is not None:
            self.record_flood(outcome.flood_wait_s)

    def record_flood(self, seconds: float) -> None:
        """Count one FLOOD_WAIT and the wait it asked for."""
        if seconds < 0:
            raise ValueError("a flood wait cannot be negative")
        self._flood_waits.inc()
        self._flood_seconds.inc(seconds)

    def set_queue_depth(self, n: int) -> None:
        self._queue_depth.set(n)

    def render(self) -> bytes:
        """The exposition text (`CONTENT_TYPE`); may read the database, so call it off the
        event loop."""
        return generate_latest(self.registry)
