"""crawler.jobs.http: the service's probes and metrics, served for real on a loopback port and
asked over real HTTP, on both databases; `probe` is the health check compose runs."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from crawler.errors import UserError
from crawler.jobs.http import HttpServer, start_http
from crawler.jobs.metrics import CONTENT_TYPE, Metrics
from crawler.jobs.probe import parse_listen, probe
from crawler.matching.alerts import Candidate, Kind, discovery_key
from crawler.telegram.accounts import LEASE_KIND
from storage import alert_store, lease_store, telegram_store, watchlist_store
from storage.engine import make_engine
from storage.migrate import upgrade

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIMEOUT = aiohttp.ClientTimeout(total=60)


class Clock:
    """The injected clock: time moves only when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Answer:
    status: int
    text: str
    content_type: str


async def get(server: HttpServer, path: str, method: str = "GET") -> Answer:
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        session.request(method, f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return Answer(response.status, await response.text(), response.headers["Content-Type"])


def serve(
    engine: Engine, metrics: Metrics, scenario: Callable[[HttpServer], Awaitable[None]]
) -> None:
    """Run `scenario` against a server on an ephemeral loopback port, then close it."""

    async def main() -> None:
        server = await start_http("127.0.0.1", 0, engine, metrics)
        try:
            await scenario(server)
        finally:
            await server.close()

    asyncio.run(main())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sqlite_engine(tmp_path: Path) -> Engine:
    path = tmp_path / "never-migrated.db"
    path.touch()
    return make_engine(f"sqlite:///{path}")


# --- parse_listen --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("localhost:0", ("localhost", 0)),
        ("metrics-host.internal:65535", ("metrics-host.internal", 65535)),
    ],
)
def test_parse_listen_accepts_host_port(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("9464", "expected HOST:PORT"),
        (":9464", "expected HOST:PORT"),
        ("127.0.0.1:", "port must be a number"),
        ("127.0.0.1:http", "port must be a number"),
        ("127.0.0.1:65536", "port must be a number"),
        ("127.0.0.1:-1", "port must be a number"),
        ("127.0.0.1:９４６４", "port must be a number"),
        ("::1:9464", "in brackets"),
        ("[::g]:9464", "not an IPv6 address"),
        ("[127.0.0.1]:9464", "not an IPv6 address"),
        ("bad host:9464", "not a host name"),
        ("host\n:9464", "not a host name"),
    ],
)
def test_parse_listen_refuses_with_one_line(value: str, why: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_listen(value)
    message = str(caught.value)
    assert why in message
    assert "\n" not in message
    assert message.startswith("--http ")


# --- liveness, routes ----------------------------------------------------------------------------


def test_healthz_answers_and_nothing_else_is_served(engine: Engine) -> None:
    async def scenario(server: HttpServer) -> None:
        health = await get(server, "/healthz")
        assert (health.status, health.text) == (200, "ok\n")
        for path in ("/", "/nope", "/metrics/", "/healthz/../", "/static/", "/%2e%2e/etc/passwd"):
            assert (await get(server, path)).status == 404, path
        assert (await get(server, "/healthz", method="POST")).status == 405

    serve(engine, Metrics(engine), scenario)


def test_port_in_use_is_a_user_error(engine: Engine) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def main() -> None:
            await start_http("127.0.0.1", port, engine, Metrics())

        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}"):
            asyncio.run(main())


# --- readiness -----------------------------------------------------------------------------------


def test_readyz_is_200_on_a_migrated_database(engine: Engine) -> None:
    async def scenario(server: HttpServer) -> None:
        ready = await get(server, "/readyz")
        assert (ready.status, ready.text) == (200, "ready\n")

    serve(engine, Metrics(engine), scenario)


def test_readyz_is_503_on_a_database_never_migrated(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)

    async def scenario(server: HttpServer) -> None:
        ready = await get(server, "/readyz")
        assert ready.status == 503
        assert (
            ready.text
            == "not ready: database schema is not migrated (run `chanwatch db upgrade`)\n"
        )

    try:
        serve(engine, Metrics(engine), scenario)
    finally:
        engine.dispose()


def test_readyz_is_503_on_a_schema_behind_the_code(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    upgrade(engine, "0001")

    async def scenario(server: HttpServer) -> None:
        ready = await get(server, "/readyz")
        assert ready.status == 503
        assert ready.text.startswith(
            "not ready: database schema is at 0001, this chanwatch expects"
        )
        assert ready.text.count("\n") == 1

    try:
        serve(engine, Metrics(engine), scenario)
    finally:
        engine.dispose()


def test_an_unreachable_database_is_named_without_its_url_or_password() -> None:
    with socket.socket() as closed:
        # Bound but not listening: connecting is refused at once, and no one else gets the port.
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        url = f"postgresql+psycopg://watcher:hunter2-secret@127.0.0.1:{port}/chanwatch"
        engine = make_engine(url)

        async def scenario(server: HttpServer) -> None:
            ready = await get(server, "/readyz")
            assert (ready.status, ready.text) == (
                503,
                "not ready: database unreachable (OperationalError)\n",
            )
            page = await get(server, "/metrics")
            assert page.status == 200
            assert samples(page.text)[("chanwatch_database_up", ())] == 0
            for answer in (ready, page):
                assert "hunter2" not in answer.text
                assert "watcher" not in answer.text
                assert str(port) not in answer.text

        try:
            serve(engine, Metrics(engine), scenario)
        finally:
            engine.dispose()


# --- metrics -------------------------------------------------------------------------------------


def test_metrics_shows_a_counter_moving_between_scrapes(engine: Engine) -> None:
    metrics = Metrics(engine)
    runs = ("chanwatch_runs_total", (("kind", "telegram"), ("status", "ok")))

    async def scenario(server: HttpServer) -> None:
        before = await get(server, "/metrics")
        assert before.status == 200
        assert before.content_type == CONTENT_TYPE
        assert runs not in samples(before.text)
        metrics.record_run("telegram", "ok", items_new=4, items_updated=1, versions=5)
        after = samples((await get(server, "/metrics")).text)
        assert after[runs] == 1
        assert after[("chanwatch_versions_total", (("kind", "telegram"),))] == 5
        assert after[("chanwatch_database_up", ())] == 1

    serve(engine, metrics, scenario)


def raise_discovery(engine: Engine, channel: str) -> None:
    candidate = Candidate(Kind.DISCOVERY, "medium", discovery_key(channel), {"channel": channel})
    with engine.begin() as conn:
        alert_store.raise_alerts(conn, [candidate], NOW)


def add_target(engine: Engine, locator: str, *, due: datetime, enabled: bool = True) -> None:
    spec = watchlist_store.TargetSpec(
        kind="web_page", locator=locator, interval_s=3600, enabled=enabled
    )
    with engine.begin() as conn:
        # add_target makes a new target due at once: `due` is when it was added.
        watchlist_store.add_target(conn, "rooms", spec, added_by="test", at=due)


def add_accounts(engine: Engine) -> None:
    with engine.begin() as conn:
        flooded = telegram_store.ensure_account(conn, "flooded", "key-flooded")
        telegram_store.set_flood(conn, flooded.id, NOW + timedelta(hours=1))
        expired = telegram_store.ensure_account(conn, "flood-over", "key-flood-over")
        telegram_store.set_flood(conn, expired.id, NOW - timedelta(minutes=1))
        signed_out = telegram_store.ensure_account(conn, "signed-out", "key-signed-out")
        telegram_store.set_status(conn, signed_out.id, "unauthorized", "session not signed in")
        telegram_store.ensure_account(conn, "busy", "key-busy")
        lease_store.acquire(
            conn, LEASE_KIND, "key-busy", "host:1", now=NOW, ttl=timedelta(minutes=5),
            holder_gone=lambda _owner: False,
        )  # fmt: skip
        telegram_store.ensure_account(conn, "idle", None)


def test_metrics_reads_alerts_accounts_and_overdue_targets_from_the_database(
    engine: Engine,
) -> None:
    clock = Clock(NOW)
    metrics = Metrics(
        engine, clock=clock, overdue_grace=timedelta(minutes=10), cache_for=timedelta(seconds=5)
    )
    raise_discovery(engine, "room_one")
    raise_discovery(engine, "room_two")
    add_target(engine, "https://late.example/", due=NOW - timedelta(hours=1))
    add_target(engine, "https://in-grace.example/", due=NOW - timedelta(minutes=5))
    add_target(engine, "https://off.example/", due=NOW - timedelta(hours=1), enabled=False)
    add_accounts(engine)

    async def scenario(server: HttpServer) -> None:
        first = samples((await get(server, "/metrics")).text)
        assert first[("chanwatch_alerts_raised_total", (("kind", "discovery"),))] == 2
        # Kinds not raised yet are there at zero, so their first alert is an increase.
        assert first[("chanwatch_alerts_raised_total", (("kind", "keyword"),))] == 0
        accounts = {
            labels[0][1]: count
            for (name, labels), count in first.items()
            if name == "chanwatch_telegram_accounts"
        }
        assert accounts == {"ok": 2, "flood_waiting": 1, "unauthorized": 1, "leased": 1}
        assert first[("chanwatch_targets_overdue", ())] == 1

        # Within the cache period the database is not read again...
        raise_discovery(engine, "room_three")
        cached = samples((await get(server, "/metrics")).text)
        assert cached[("chanwatch_alerts_raised_total", (("kind", "discovery"),))] == 2
        # ...once it has passed, it is; the grace period has run out for the second target too.
        clock.now = NOW + timedelta(minutes=6)
        fresh = samples((await get(server, "/metrics")).text)
        assert fresh[("chanwatch_alerts_raised_total", (("kind", "discovery"),))] == 3
        assert fresh[("chanwatch_targets_overdue", ())] == 2

    serve(engine, metrics, scenario)


# --- probe ---------------------------------------------------------------------------------------


def test_probe_is_0_against_the_live_server_and_1_when_not_ready(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def healthy(server: HttpServer) -> None:
        for path in ("/healthz", "/readyz"):
            url = f"http://127.0.0.1:{server.port}{path}"
            assert await asyncio.to_thread(probe, url, 30) == 0

    serve(engine, Metrics(engine), healthy)
    assert capsys.readouterr().err == ""

    unmigrated = sqlite_engine(tmp_path)

    async def not_ready(server: HttpServer) -> None:
        url = f"http://127.0.0.1:{server.port}/readyz"
        assert await asyncio.to_thread(probe, url, 30) == 1

    try:
        serve(unmigrated, Metrics(unmigrated), not_ready)
    finally:
        unmigrated.dispose()
    assert capsys.readouterr().err == (
        "chanwatch probe: HTTP 503: not ready: database schema is not migrated "
        "(run `chanwatch db upgrade`)\n"
    )


def test_probe_is_1_against_a_closed_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        assert probe(f"http://127.0.0.1:{port}/readyz", 30) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("chanwatch probe: ")
    assert "refused" in line.lower()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "127.0.0.1:9464"])
def test_probe_refuses_what_is_not_http(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert probe(url, 30) == 1
    assert "is not an http(s) URL" in capsys.readouterr().err
