"""`chanwatch demo`: the whole pipeline against the sandbox world, offline, in its own database.

The fake DC and the fixture site serve the synthetic world (sandbox/world.py) on 127.0.0.1
ephemeral ports; the real collectors crawl it pass after pass while the world changes in between,
and every observation goes through the one ingest path and its matchers, as in production. The
demo takes nothing from the user's settings (no accounts, notification targets, preview base
URL or allow-list): its settings come from this module alone, and no connection leaves loopback.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from string import Template

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from crawler.crawl import TargetResult, crawl_once
from crawler.errors import UserError
from crawler.hashing.media import hash_media_bytes
from crawler.ingest import Matcher
from crawler.matching.banks import BankRecord, SignalType, import_bank
from crawler.matching.caches import rule_to_row
from crawler.matching.keywords import compile_rules, load_rules_yaml
from crawler.matching.pipeline import build_matchers
from crawler.settings import Settings
from crawler.watchlists import parse_watchlist_yaml
from sandbox.review_app import DEMO_USER, ReviewAppThread, demo_login
from sandbox.site import FixtureSite
from sandbox.telegram_dc import FakeDC, no_real_telegram
from sandbox.world import BANKED, DemoWorld, build_world
from storage import bank_store, watchlist_store
from storage.engine import make_engine
from storage.inventory import collection_counts, contents, wipe
from storage.migrate import upgrade

DEMO_LIST = "chanwatch-demo"
DEMO_DATABASE = "chanwatch-demo.db"
DEMO_CONFIG = "chanwatch-demo.toml"
DEMO_BANK = "demo-known"
PASSES = 2
REQUIRED_KINDS = ("keyword", "hash_match", "discovery", "source_change", "page_change")
PASS_STEP = timedelta(hours=2)
"""Each pass, the demo's clock runs this far ahead of the real one (more than the 1 h watch
interval), so every target is due again without waiting for real time to pass."""


class DemoRefused(UserError):
    """The demo will not run here (a database holding someone's data); nothing was touched."""


class _DemoSettings(Settings):
    """Settings from the demo's own values only: no `CHANWATCH_*` variable, no settings file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass(frozen=True, slots=True)
class PassReport:
    number: int
    statuses: dict[str, int]
    seconds: float


def prepare_database(url: str | None) -> str:
    """The demo's database, emptied; refuse one that holds anything but a demo's data."""
    url = url or f"sqlite:///{DEMO_DATABASE}"
    shown = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        found = contents(engine)
        if not found.holds_only(DEMO_LIST):
            raise DemoRefused(
                f"{shown} holds data that is not the demo's; the demo only uses an empty "
                "database or one it made"
            )
        if engine.dialect.name != "sqlite" and found.migrated:
            wipe(engine)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DemoRefused(f"cannot use {shown} for the demo: {detail}") from None
    finally:
        engine.dispose()
    if engine.dialect.name == "sqlite" and engine.url.database:
        # A fresh file rather than emptied tables: new SQLite files get the tuned page size.
        for suffix in ("", "-wal", "-shm"):
            Path(engine.url.database + suffix).unlink(missing_ok=True)
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


def write_config(url: str, path: Path = Path(DEMO_CONFIG)) -> Path:
    """A settings file that points the other commands at the demo's database."""
    path.write_text(
        "# Written by `chanwatch demo`: its own database, nothing else. Look further with\n"
        f"#   chanwatch --config {path.name} alerts list\n"
        f"database_url = {json.dumps(url)}\n",
        encoding="utf-8",
    )
    return path


def demo_settings(url: str, dc: FakeDC, site: FixtureSite) -> Settings:
    return _DemoSettings(
        database_url=url,
        telegram={
            "api_id": 1,
            "api_hash": "0" * 32,
            "accounts": [{"name": "sandbox", "session": dc.string_session()}],
            "preview_base_url": site.base_url,
        },
        net={"allow_private_hosts": [f"127.0.0.1:{site.port}"]},
        spiders={"download_delay_s": 0, "max_run_s": 120},
    )


def load_inputs(engine: Engine, settings: Settings, world: DemoWorld, site: FixtureSite) -> None:
    """The demo's watchlist and rules (package data) and its bank, computed from the world's
    pictures as generated on this machine, all in one transaction."""
    data = resources.files("sandbox") / "data"
    watchlist = Template((data / "demo-watchlist.yaml").read_text(encoding="utf-8"))
    entries = parse_watchlist_yaml(
        watchlist.substitute(site=site.base_url), settings.net.allow_private_hosts
    )
    rules = load_rules_yaml((data / "demo-rules.yaml").read_text(encoding="utf-8"))
    compile_rules(rules)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for entry in entries:
            watchlist_store.add_target(
                conn, entry.list_name, entry.spec, added_by="chanwatch demo", at=now,
                description=entry.description,
            )  # fmt: skip
        bank_store.upsert_rules(conn, [rule_to_row(rule) for rule in rules], now)
        import_bank(
            conn, bank_records(world, settings), bank=DEMO_BANK, severity="critical", at=now
        )


def bank_records(world: DemoWorld, settings: Settings) -> list[BankRecord]:
    """Picture A is known by its PDQ hash (so its mirrored re-post matches too), picture B by
    its SHA-256 (an exact copy only)."""
    a, b = (
        hash_media_bytes(world.pictures[name], kind="photo", mime="image/jpeg",
                         max_bytes=settings.media.max_bytes)
        for name in BANKED
    )  # fmt: skip
    if a.pdq is None or b.sha256 is None:
        raise RuntimeError(f"the demo's pictures did not hash: {a.hash_status}, {b.hash_status}")
    return [
        BankRecord(SignalType.PDQ, a.pdq, "demo picture A (synthetic)"),
        BankRecord(SignalType.SHA256, b.sha256, "demo picture B (synthetic)"),
    ]


@contextmanager
def serving(world: DemoWorld) -> Iterator[tuple[FakeDC, FixtureSite]]:
    """The fake DC and the fixture site on 127.0.0.1, with every other address refused."""
    with no_real_telegram() as refused, FakeDC.start_in_thread(world.telegram) as dc:
        site = FixtureSite.start_in_thread(world.site)
        try:
            yield dc, site
        finally:
            site.stop()
    if refused:
        raise RuntimeError(f"the demo tried to leave loopback: {refused!r}")


def crawl_pass(
    engine: Engine, settings: Settings, number: int, now: datetime, matchers: Sequence[Matcher]
) -> PassReport:
    started = datetime.now(UTC)
    results: list[TargetResult] = asyncio.run(
        crawl_once(engine, settings, matchers=matchers, now=now)
    )
    seconds = (datetime.now(UTC) - started).total_seconds()
    return PassReport(number, dict(Counter(r.outcome.status for r in results)), seconds)


def run_demo(
    database: str | None,
    *,
    once: bool,
    every_s: float,
    say: Callable[[str], None],
    stop: threading.Event | None = None,
    web_port: int = 0,
) -> int:
    """Run the demo; exit 0 when every alert kind in REQUIRED_KINDS was raised, else 1.

    Without `once` the review app is served on 127.0.0.1:`web_port` (0: any free port) with a
    demo login, and the world keeps changing and being crawled every `every_s` seconds until
    `stop` is set (or Ctrl-C).
    """
    url = prepare_database(database)
    config = write_config(url)
    world = build_world(datetime.now(UTC))
    stop = stop or threading.Event()
    with serving(world) as (dc, site):
        settings = demo_settings(url, dc, site)
        engine = make_engine(url)
        try:
            load_inputs(engine, settings, world, site)
            matchers = build_matchers(engine, settings)
            say(f"chanwatch demo: a synthetic world on 127.0.0.1 (Telegram DC :{dc.port}, "
                f"web :{site.port}); nothing leaves this machine")  # fmt: skip
            number = 0

            def next_pass() -> None:
                nonlocal number
                number += 1
                now = datetime.now(UTC)
                if number > 1:
                    world.advance(now)
                clock = now + PASS_STEP * (number - 1)
                say(_pass_line(crawl_pass(engine, settings, number, clock, matchers)))

            for _ in range(PASSES):
                next_pass()
            code = summarize(engine, config, say)
            if once:
                return code
            app = ReviewAppThread(engine, settings, web_port)
            try:
                say(f"review app: {app.url} (log in as {DEMO_USER} / {demo_login(engine)})")
                say(f"crawling every {every_s:g} s while the world changes; Ctrl-C stops")
                while not stop.wait(every_s):
                    next_pass()
            finally:
                app.stop()
            return code
        except KeyboardInterrupt:
            say("stopped")
            return 0
        finally:
            engine.dispose()


def _pass_line(report: PassReport) -> str:
    statuses = ", ".join(f"{status} {n}" for status, n in sorted(report.statuses.items()))
    total = sum(report.statuses.values())
    return f"pass {report.number}: {total} targets ({statuses}) in {report.seconds:.1f} s"


def summarize(engine: Engine, config: Path, say: Callable[[str], None]) -> int:
    with engine.connect() as conn:
        counts = collection_counts(conn)
    kinds = counts.alerts_by_kind
    say(
        f"collected: {counts.targets} targets, {counts.sources} sources, {counts.items} items, "
        f"{counts.versions} edits kept as versions, {counts.deleted} deletions"
    )
    say("alerts: " + ", ".join(f"{kind} {kinds.get(kind, 0)}" for kind in sorted(
        {*REQUIRED_KINDS, *kinds}
    )))  # fmt: skip
    missing = [kind for kind in REQUIRED_KINDS if not kinds.get(kind)]
    if missing:
        say(f"missing alert kinds: {', '.join(missing)}")
    say("look further:")
    for command in ("alerts list", "alerts show 1", "items --text 겹지인", "watchlist list"):
        say(f"  chanwatch --config {config} {command}")
    return 1 if missing else 0
