"""Shared set-up for the alert tests: watch a channel, load banks and rules, run ingest with
the real matchers, read alerts back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from crawler.ingest import IngestResult, ingest
from crawler.matching.banks import import_bank, parse_bank_file
from crawler.matching.caches import rule_to_row
from crawler.matching.keywords import load_rules_yaml
from crawler.matching.pipeline import build_matchers
from crawler.observations import Observation
from crawler.settings import Settings
from storage import alert_store, bank_store, watchlist_store

NOW = datetime(2024, 8, 27, tzinfo=UTC)
REVIEW_RULES = """
rules:
  - name: rooms
    severity: high
    terms: [지인능욕]
  - name: worst
    severity: critical
    terms: [겹지인방]
"""
"""Two rules for the review app's tests: `rooms` raises high alerts, `worst` critical ones
(whose text the app holds back until asked)."""


def watch(engine: Engine, locator: str, kind: str = "telegram", **options: Any) -> None:
    spec = watchlist_store.TargetSpec(kind=kind, locator=locator, interval_s=3600, options=options)
    with engine.begin() as conn:
        watchlist_store.add_target(conn, "rooms", spec, added_by="test", at=NOW)


def load_bank(engine: Engine, text: str, bank: str = "known", **options: Any) -> None:
    records = parse_bank_file(text, "bank.csv" if not text.startswith("{") else "bank.jsonl")
    with engine.begin() as conn:
        import_bank(conn, records, bank=bank, at=NOW, **options)


def load_rules(engine: Engine, yaml_text: str) -> None:
    rules = load_rules_yaml(yaml_text)
    with engine.begin() as conn:
        bank_store.upsert_rules(conn, [rule_to_row(r) for r in rules], NOW)


class Pipeline:
    """One process's matchers, reused across batches as a collector would."""

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self.engine = engine
        self.settings = settings or Settings()
        self.matchers = build_matchers(engine, self.settings)

    def ingest(self, observations: Sequence[Observation]) -> IngestResult:
        return ingest(self.engine, observations, matchers=self.matchers)


def alerts(engine: Engine, **filters: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return alert_store.list_alerts(conn, limit=1000, **filters)
