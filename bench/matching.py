"""Matching figures in one run: (a) keyword rules, (b) the PDQ index, (c) the matchers' cost
inside ingest.

(a) ``bench/keywords.py``: 10,000 rules over 100 MB of mixed Korean and English text, end to
    end with every evasion form, against a Python ``re`` alternation of the same terms.
(b) ``bench/pdq_index.py``: 1,000,000 PDQ entries, multi-index hashing against a numpy
    popcount scan (build, p50/p99 query latency, RSS, recall at distance ≤ 31).
(c) Ingest of synthetic posts (``bench/ingest.py``'s generator) into SQLite with no matchers and
    with ``build_matchers`` (the example deepfake-room rules, a bank of 100,000 PDQ and 10,000
    SHA-256 entries, the channel on a watchlist so discovery runs) — same posts, same run.

    .venv/bin/python bench/matching.py [--posts 20000] [--skip-keywords] [--skip-pdq]

The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from crawler.ingest import ingest
from crawler.matching.banks import BankRecord, SignalType, import_bank
from crawler.matching.caches import rule_to_row
from crawler.matching.keywords import load_rules_yaml
from crawler.matching.pipeline import build_matchers
from crawler.settings import Settings
from storage import bank_store, watchlist_store
from storage.engine import make_engine
from storage.migrate import upgrade

BENCH = Path(__file__).resolve().parent
RULES = BENCH.parent / "config" / "rules" / "deepfake-rooms.yaml"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _prepare(path: str) -> object:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def _load_matching_inputs(engine: object) -> None:
    rng = random.Random(11)
    now = datetime.now(UTC)
    records = [BankRecord(SignalType.PDQ, f"{rng.getrandbits(256):064x}") for _ in range(100_000)]
    records += [
        BankRecord(SignalType.SHA256, f"{rng.getrandbits(256):064x}") for _ in range(10_000)
    ]
    with engine.begin() as conn:  # type: ignore[attr-defined]
        import_bank(conn, records, bank="bench", at=now)
        rules = load_rules_yaml(RULES.read_text(encoding="utf-8"))
        bank_store.upsert_rules(conn, [rule_to_row(r) for r in rules], now)
        spec = watchlist_store.TargetSpec(
            kind="telegram", locator="@bench_channel", interval_s=3600
        )
        watchlist_store.add_target(conn, "bench", spec, added_by="bench", at=now)


def ingest_overhead(posts_count: int, batch: int = 1000) -> dict[str, object]:
    ingest_bench = _load("ingest")
    posts = ingest_bench.synthetic_posts(posts_count)
    rates = {}
    with tempfile.TemporaryDirectory() as directory:
        for label in ("without", "with"):
            engine = _prepare(f"{directory}/{label}.db")
            matchers = []
            if label == "with":
                _load_matching_inputs(engine)
                started = time.perf_counter()
                matchers = build_matchers(engine, Settings())
                with engine.connect() as conn:  # first batch would pay the bank load
                    matchers[0].banks.current(conn)
                    matchers[0].rules.current(conn)
                rates["bank_load_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            for offset in range(0, len(posts), batch):
                ingest(engine, posts[offset : offset + batch], matchers=matchers)
            rates[label] = len(posts) / (time.perf_counter() - started)
            with engine.connect() as conn:
                alerts = conn.exec_driver_sql("SELECT count(*) FROM alert").scalar()
            rates[f"{label}_alerts"] = alerts
            engine.dispose()
    return {
        "posts": posts_count,
        "posts_per_s_without_matchers": round(rates["without"]),
        "posts_per_s_with_matchers": round(rates["with"]),
        "matcher_overhead": round(1 - rates["with"] / rates["without"], 3),
        "bank_entries": 110_000,
        "bank_load_s": rates["bank_load_s"],
        "alerts_raised": rates["with_alerts"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--skip-keywords", action="store_true")
    parser.add_argument("--skip-pdq", action="store_true")
    args = parser.parse_args()
    result: dict[str, object] = {"bench": "matching"}
    if not args.skip_keywords:
        result["keywords"] = _load("keywords").run()
        print(json.dumps(result["keywords"], ensure_ascii=False), file=sys.stderr)
    if not args.skip_pdq:
        result["pdq_index"] = _load("pdq_index").run()
        print(json.dumps(result["pdq_index"]), file=sys.stderr)
    result["ingest"] = ingest_overhead(args.posts)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
