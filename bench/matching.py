"""Matching figures in one run: (a) keyword rules, (b) the PDQ index, (c) the matchers' cost
inside ingest.

(a) ``bench/keywords.py``: 10,000 rules over 100 MB of mixed Korean and English text, end to
    end with every evasion form, against a Python ``re`` alternation of the same terms.
(b) ``bench/pdq_index.py``: 1,000,000 PDQ entries, multi-index hashing against a numpy
    popcount scan (build, p50/p99 query latency, RSS, recall at distance ≤ 31).
(c) Ingest of synthetic posts (``bench/ingest.py``'s generator) into SQLite with no matchers and
    with ``build_matchers`` (the example deepfake-room rules, a bank of 100,000 PDQ and 10,000
    SHA-256 entries, the channel on a watchlist so discovery runs) — same posts, same run.
(d) ``chanwatch rescan`` (``crawler.matching.rescan``) over what is already stored, on SQLite
    and PostgreSQL: 50,000 posts (``bench/ingest.py``'s text) carrying 4 pictures each
    (200,000 media rows with PDQ and its 7 rotations and flips), against a bank of 10,000
    SHA-256/MD5 entries (media rows/s), a bank of 10,000 PDQ entries with dihedral matching
    (media rows/s), and the example rules over every text (MB/s of UTF-8 text), with a worker
    per core and, on a copy of the same database, in one process (the same-run baseline).
    ``python_loop_ms`` says how fast the host ran plain Python that day: the absolute figures
    move with it.

    .venv/bin/python bench/matching.py [--posts 20000] [--skip-keywords] [--skip-pdq]
        [--rescan-posts 50000] [--skip-rescan]

The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np
from sqlalchemy import Engine

from crawler.ingest import ingest
from crawler.matching.banks import BankRecord, SignalType, import_bank
from crawler.matching.caches import rule_to_row
from crawler.matching.keywords import load_rules_yaml
from crawler.matching.pipeline import build_matchers
from crawler.matching.rescan import rescan
from crawler.observations import HashStatus, MediaHashes
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


PICTURES_PER_POST = 4
RESCAN_BANK = 10_000
RESCAN_HITS = 50


def _pictures(count: int, seed: int = 5) -> list[MediaHashes]:
    """Random hashes: SHA-256, MD5, PDQ and 7 dihedral PDQs per picture."""
    raw = np.random.default_rng(seed).integers(0, 256, size=(count, 9, 32), dtype=np.uint8)
    pictures = []
    for n in range(count):
        sha, pdq, *dihedral = (raw[n, k].tobytes().hex() for k in range(9))
        pictures.append(
            MediaHashes(
                kind="photo", ordinal=n % PICTURES_PER_POST, mime="image/jpeg", size=90_000,
                width=1280, height=720, sha256=sha, md5=sha[:32], pdq=pdq, pdq_quality=100,
                pdq_dihedral=tuple(dihedral), hash_status=HashStatus.HASHED,
            )
        )  # fmt: skip
    return pictures


def _near(pdq: str, bits: int, rng: random.Random) -> str:
    value = int(pdq, 16)
    for bit in rng.sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def _rescan_inputs(engine: Engine, posts_count: int) -> None:
    rng = random.Random(13)
    pictures = _pictures(posts_count * PICTURES_PER_POST)
    posts = [
        dataclasses.replace(p, media=tuple(pictures[i * PICTURES_PER_POST :][:PICTURES_PER_POST]))
        for i, p in enumerate(_load("ingest").synthetic_posts(posts_count, seed=9))
    ]
    for offset in range(0, len(posts), 1000):
        ingest(engine, posts[offset : offset + 1000])
    hits = rng.sample(pictures, 2 * RESCAN_HITS)
    exact = [BankRecord(SignalType.SHA256, p.sha256 or "") for p in hits[:RESCAN_HITS]]
    exact += [BankRecord(SignalType.MD5, p.md5 or "") for p in hits[RESCAN_HITS:]]
    for n in range(RESCAN_BANK - len(exact)):
        kind = SignalType.SHA256 if n % 2 else SignalType.MD5
        exact.append(BankRecord(kind, f"{rng.getrandbits(256):064x}"[: 64 if n % 2 else 32]))
    # Copies within the bank's distance: mirrored ones (flip_x) and originals.
    pdq = [BankRecord(SignalType.PDQ, _near(p.pdq_dihedral[3], 8, rng)) for p in hits[:50]]
    pdq += [BankRecord(SignalType.PDQ, _near(p.pdq or "", 12, rng)) for p in hits[50:]]
    pdq += [
        BankRecord(SignalType.PDQ, f"{rng.getrandbits(256):064x}")
        for _ in range(RESCAN_BANK - len(pdq))
    ]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        import_bank(conn, exact, bank="exact", at=now)
        import_bank(conn, pdq, bank="pdq", at=now)
        rules = load_rules_yaml(RULES.read_text(encoding="utf-8"))
        bank_store.upsert_rules(conn, [rule_to_row(r) for r in rules], now)


def rescan_rates(engine: Engine, posts_count: int) -> dict[str, object]:
    """Media rows/s and text MB/s of `rescan`, each a whole run (reads, matching, alerts)."""
    _rescan_inputs(engine, posts_count)
    settings = Settings()
    figures: dict[str, object] = {}
    for label, options in (("exact", {"bank": "exact"}), ("pdq_dihedral", {"bank": "pdq"})):
        started = time.perf_counter()
        report = rescan(engine, settings, **options)
        elapsed = time.perf_counter() - started
        figures[f"{label}_media_rows_per_s"] = round(report.media_scanned / elapsed)
        figures[f"{label}_s"] = round(elapsed, 2)
        figures[f"{label}_alerts"] = report.new["hash_match"]
    rules = ["acquaintance-humiliation-rooms", "synthesis-rooms"]
    # The same texts and rules twice, on two copies of the database: with a worker per core,
    # and in one process (the baseline; what the code did before it used the other cores).
    with _load("throwaway_db").copy_of(engine) as copy:
        for label, target, workers in (("rules", copy, None), ("rules_one_process", engine, 1)):
            started = time.perf_counter()
            report = rescan(target, settings, rules=rules, workers=workers)
            elapsed = time.perf_counter() - started
            figures[f"{label}_text_mb_per_s"] = round(report.text_bytes / elapsed / 1e6, 1)
            figures[f"{label}_alerts"] = report.new["keyword"]
    figures["rules_text_mb"] = round(report.text_bytes / 1e6, 1)
    figures["workers"] = settings.alerts.rescan_workers
    figures["media_rows"] = posts_count * PICTURES_PER_POST
    figures["bank_entries"] = RESCAN_BANK
    return figures


def python_loop_ms() -> float:
    """How fast this machine runs plain Python today (best of 3, 10 million additions): the
    absolute figures above move with it from one host, or one hour, to the next."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for n in range(10_000_000):
            total += n
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def rescan_bench(posts_count: int) -> dict[str, object]:
    throwaway = _load("throwaway_db")
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as directory:
        engine = throwaway.sqlite_engine(directory, "rescan")
        result["sqlite"] = rescan_rates(engine, posts_count)
        engine.dispose()
    print(json.dumps(result["sqlite"]), file=sys.stderr)
    with throwaway.postgres_engine() as engine:
        result["postgres"] = rescan_rates(engine, posts_count)
    print(json.dumps(result["postgres"]), file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--skip-keywords", action="store_true")
    parser.add_argument("--skip-pdq", action="store_true")
    parser.add_argument("--rescan-posts", type=int, default=50_000)
    parser.add_argument("--skip-rescan", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    result: dict[str, object] = {"bench": "matching"}
    if not args.skip_keywords:
        result["keywords"] = _load("keywords").run()
        print(json.dumps(result["keywords"], ensure_ascii=False), file=sys.stderr)
    if not args.skip_pdq:
        result["pdq_index"] = _load("pdq_index").run()
        print(json.dumps(result["pdq_index"]), file=sys.stderr)
    if not args.skip_ingest:
        result["ingest"] = ingest_overhead(args.posts)
    if not args.skip_rescan:
        result["rescan"] = rescan_bench(args.rescan_posts)
    result["python_loop_ms"] = python_loop_ms()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
