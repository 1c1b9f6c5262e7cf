"""The data bench/web.py measures against, filled set-based: sources, items with Korean text,
alerts of every kind with their evidence, statuses mixed, some assigned, each with its history
(COPY on PostgreSQL, core `insert` with lists on SQLite)."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, insert, text

from crawler import access
from crawler.matching.alerts import KEYWORD_CONFIDENCE, SEVERITIES, Kind, priority
from storage import alert_store, user_store
from storage.models import Alert, AlertEvent, Item, Source

T0 = datetime(2026, 1, 5, tzinfo=UTC)
USER, PASSWORD = "bench_staff", "bench password 0123456789"
SOURCES = 2_000
CHUNK = 20_000
KOREAN = ["지인", "능욕", "합성", "사진", "공유", "방", "링크", "텔레그램", "채널", "학교",
          "친구", "선배", "후배", "동생", "누나", "오늘", "내일", "딥페이크", "유포", "제보"]
ENGLISH = ["the", "room", "link", "share", "new", "channel", "today", "photo", "join", "backup"]
TERMS = ["능욕", "합성", "딥페이크", "유포"]
KIND_WEIGHTS = {Kind.KEYWORD: 50, Kind.HASH_MATCH: 15, Kind.DISCOVERY: 10,
                Kind.SOURCE_CHANGE: 6, Kind.PAGE_CHANGE: 6, Kind.ACTIVITY_SPIKE: 8,
                Kind.OPERATIONAL: 5}
SEVERITY_WEIGHTS = (20, 35, 30, 15)
STATUS_WEIGHTS = {"new": 55, "in_review": 15, "confirmed": 12, "dismissed": 14, "escalated": 4}
REVIEWERS = ["kim", "lee", "park", "choi", "jung"]
DECISIONS = {"confirmed": "confirm", "dismissed": "dismiss", "escalated": "escalate"}




def templates(rng: random.Random, count: int = 4096) -> list[tuple[str, int, str]]:
    """Post texts (~120 characters) with one watched term at a known offset."""
    out = []
    for _ in range(count):
        words = [rng.choice(KOREAN if rng.random() < 0.75 else ENGLISH) for _ in range(14)]
        head = " ".join(words[:6]) + " "
        term = rng.choice(TERMS)
        body = head + term + " " + " ".join(words[6:]) + " " + rng.choice(KOREAN) * 3
        out.append((body, len(head), term))
    return out


def source_rows() -> list[dict[str, Any]]:
    return [
        {"id": n + 1, "platform": "telegram", "platform_id": str(1_700_000_000 + n),
         "username": f"room_{n:04d}", "title": f"{KOREAN[n % 20]} {KOREAN[n * 7 % 20]} 방 {n}",
         "participants": 50 + n * 37 % 90_000, "participants_exact": True, "flags": [],
         "first_seen_at": T0 - timedelta(days=90), "last_seen_at": T0, "available": True}
        for n in range(SOURCES)
    ]  # fmt: skip


def item_rows(count: int, texts: list[tuple[str, int, str]]) -> Iterator[list[dict[str, Any]]]:
    per_source = -(-count // SOURCES)
    for start in range(0, count, CHUNK):
        rows = []
        for n in range(start, min(count, start + CHUNK)):
            source, message = n // per_source, n % per_source + 1
            body = f"{texts[n % len(texts)][0]} #{n}"
            posted = T0 - timedelta(seconds=(count - n) * 5)
            rows.append({
                "id": n + 1, "source_id": source + 1, "platform_id": str(message),
                "message_id": message, "url": f"https://t.me/room_{source:04d}/{message}",
                "posted_at": posted, "collected_at": posted, "last_seen_at": posted,
                "text": body, "text_sha256": hashlib.sha256(body.encode()).hexdigest(),
                "views": n * 31 % 50_000, "collector": "telegram", "edited": False,
                "views_exact": True, "forwards_exact": False, "is_service": False,
                "version_count": 1, "sightings": {},
            })  # fmt: skip
        yield rows


def evidence_for(kind: Kind, n: int, item: int, texts: list[tuple[str, int, str]],
                 severity: str, rng: random.Random) -> dict[str, Any]:  # fmt: skip
    if kind is Kind.KEYWORD:
        _body, start, term = texts[(item - 1) % len(texts)]
        form = rng.choice(list(KEYWORD_CONFIDENCE))
        hit = {"term": term, "form": form, "start": start, "end": start + len(term),
               "matched_text": term, "severity": severity}  # fmt: skip
        return {"rule": f"rule_{n % 40:02d}", "hit_count": 1, "hits": [hit]}
    if kind is Kind.HASH_MATCH:
        return {"bank": f"bank_{n % 5}", "entry_id": n % 10_000, "label": "known image",
                "signal_type": "pdq", "distance": n % 31, "orientation": "original",
                "quality": 90, "media_ordinal": 0,
                "media_hash": hashlib.sha256(str(n).encode()).hexdigest()}  # fmt: skip
    if kind is Kind.DISCOVERY:
        return {"channel": f"@new_room_{n}", "items": 3 + n % 40,
                "via": {"forward": 2, "link": 1 + n % 7}, "recent_item_ids": [item, item + 1]}
    if kind is Kind.SOURCE_CHANGE:
        return {"change": "title", "before": "옛 이름", "after": f"새 이름 {n}"}
    if kind is Kind.PAGE_CHANGE:
        return {"url": f"https://example.org/page/{n}", "version": 2 + n % 5}
    if kind is Kind.ACTIVITY_SPIKE:
        return {"posts_last_hour": 40 + n % 100, "baseline_per_hour": 2.5, "baseline_hours": 168,
                "factor": 5.0, "hour_end": T0.isoformat()}
    return {"problem": "stale", "target_id": n % 500, "locator": f"@room_{n % 500:04d}",
            "kind": "telegram", "last_status": "error", "last_run_at": T0.isoformat(),
            "last_success_at": None, "interval_s": 3600}  # fmt: skip


def alert_rows(count: int, items: int, texts: list[tuple[str, int, str]]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    rng = random.Random(11)
    kinds, kind_w = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    statuses, status_w = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    per_source = -(-items // SOURCES)
    alerts, events = [], []
    for n in range(count):
        kind = rng.choices(kinds, kind_w)[0]
        severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
        status = rng.choices(statuses, status_w)[0]
        item = rng.randrange(items) + 1
        with_item = kind in (Kind.KEYWORD, Kind.HASH_MATCH, Kind.PAGE_CHANGE)
        source = (item - 1) // per_source + 1
        with_source = kind is not Kind.DISCOVERY and kind is not Kind.OPERATIONAL
        first = T0 - timedelta(seconds=rng.randrange(60 * 86_400))
        last = min(T0, first + timedelta(seconds=rng.randrange(3 * 86_400)))
        confidence = rng.choice(list(KEYWORD_CONFIDENCE.values()))
        assignee = rng.choice(REVIEWERS) if status != "new" and rng.random() < 0.8 else None
        rank = priority(severity, confidence, rng.randrange(200_000))
        evidence = evidence_for(kind, n, item, texts, severity, rng)  # rng draws in old order
        alerts.append({
            "id": n + 1, "kind": str(kind), "severity": severity,
            "priority": rank,
            "status": status, "dedupe_key": f"{kind}:bench:{n}",
            "item_id": item if with_item else None,
            "source_id": source if with_source else None,
            "evidence": evidence, **alert_store.named_columns(evidence),
            "hit_count": 1 + rng.randrange(5), "first_seen": first, "last_seen": last,
            "assignee": assignee,
            "lease_until": T0 + timedelta(minutes=30) if status == "in_review" else None,
        })  # fmt: skip
        events.append({"alert_id": n + 1, "at": first, "actor": "chanwatch", "action": "raised",
                       "from_status": None, "to_status": "new", "reason": None})  # fmt: skip
        if status != "new":
            who = assignee or rng.choice(REVIEWERS)
            events.append({"alert_id": n + 1, "at": last, "actor": who, "action": "claim",
                           "from_status": "new", "to_status": "in_review", "reason": None})
        if status not in ("new", "in_review"):
            events.append({"alert_id": n + 1, "at": last + timedelta(minutes=5), "actor": who,
                           "action": DECISIONS[status], "from_status": "in_review",
                           "to_status": status, "reason": "검토 완료"})  # fmt: skip
    return alerts, events


def load(engine: Engine, table: Table, chunks: Iterator[list[dict[str, Any]]]) -> int:
    """COPY on PostgreSQL, executemany of a core insert on SQLite; one transaction."""
    total = 0
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            for rows in chunks:
                conn.execute(insert(table), rows)
                total += len(rows)
        return total
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        columns: list[str] | None = None
        for rows in chunks:
            if columns is None:
                columns = list(rows[0])
                copy_cm = cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN")
                copy = copy_cm.__enter__()
            for row in rows:
                copy.write_row([
                    json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                    for v in row.values()
                ])  # fmt: skip
            total += len(rows)
        if columns is not None:
            copy_cm.__exit__(None, None, None)
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))")  # fmt: skip
        raw.commit()
    finally:
        raw.close()
    return total


def fill(engine: Engine, alerts: int, items: int) -> dict[str, float]:
    rng = random.Random(7)
    texts = templates(rng)
    times = {}
    started = time.perf_counter()
    load(engine, Source.__table__, iter([source_rows()]))
    load(engine, Item.__table__, item_rows(items, texts))
    times["items_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    alert_list, event_list = alert_rows(alerts, items, texts)
    load(engine, Alert.__table__, (alert_list[i:i + CHUNK] for i in range(0, alerts, CHUNK)))
    events = event_list
    for i, event in enumerate(events):  # ids given, so COPY and setval agree
        event["id"] = i + 1
    load(engine, AlertEvent.__table__, (events[i:i + CHUNK] for i in range(0, len(events), CHUNK)))
    times["alerts_s"] = round(time.perf_counter() - started, 1)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        user_store.add_user(conn, USER, "staff", access.hash_password(PASSWORD), T0)
    return times
