"""Telegram collection throughput against the fake DC, and the naive loop in the same run.

Two 20,000-message channels are served by the loopback fake data center (sandbox/telegram_dc)
in a child process, so that this process's CPU time is the collector's alone:
``bench_text`` (text only) and ``bench_photos`` (every tenth message a 1280x720 JPEG).
chanwatch collects each with `crawl_once` into a fresh SQLite database (pages of 100, one
commit per page, media hashed in memory with SHA-256, MD5 and PDQ by the hash worker processes,
whose CPU is reported apart); the text channel once more into PostgreSQL (127.0.0.1:5432, or
``CHANWATCH_TEST_DATABASE_URL``; a throw-away database).

The baseline is the loop the surveyed tools run: resolve the username on every run, iterate
with Telethon's default ``wait_time`` (1 s between chunks on an unbounded iteration), download
and hash each photo in turn, commit every message on its own. It runs over the first
``--baseline-messages`` of each channel; its rate does not depend on the count.

    .venv/bin/python bench/telegram.py [--messages 20000] [--baseline-messages 1500]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fake DC lives in tests/, which is not installed

from PIL import Image, ImageFilter  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from telethon import TelegramClient  # noqa: E402
from telethon.sessions import StringSession  # noqa: E402
from throwaway_db import postgres_engine, sqlite_engine  # noqa: E402

from crawler import hash_workers  # noqa: E402
from crawler.crawl import crawl_once  # noqa: E402
from crawler.hashing.media import hash_media_bytes  # noqa: E402
from crawler.ingest import ingest  # noqa: E402
from crawler.settings import Settings  # noqa: E402
from crawler.telegram.parse import parse_message, source_key  # noqa: E402
from sandbox.telegram_dc import FakeDC, World, guards  # noqa: E402
from storage.watchlist_store import TargetSpec, add_target  # noqa: E402

API_ID, API_HASH = 12345, "0123456789abcdef0123456789abcdef"
PHOTO_EVERY = 10
DISTINCT_PHOTOS = 40


def _jpegs() -> list[bytes]:
    """Photo-like 1280x720 JPEGs of 80-100 KB (gradients and blurred noise), the size Telegram
    re-encodes photos to; sharp noise would make every file as large as a RAW image."""
    out = []
    for seed in range(DISTINCT_PHOTOS):
        gradient = Image.linear_gradient("L").resize((1280, 720)).rotate(seed * 9)
        noise = Image.effect_noise((1280, 720), 40 + seed).filter(ImageFilter.GaussianBlur(2))
        image = Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


def serve(messages: int) -> None:
    """Child process: build the world, serve it, print where, stop when stdin closes."""
    world = World()
    now = datetime.now(UTC)
    text = world.add_channel("bench_text", "Text")
    photos = world.add_channel("bench_photos", "Photos")
    jpegs = _jpegs()
    for msg_id in range(1, messages + 1):
        date = now - timedelta(seconds=messages - msg_id)
        body = f"게시물 {msg_id}: 링크 https://t.me/room_{msg_id % 97} #태그{msg_id % 13}"
        world.add_message(text, msg_id, body, date=date, views=msg_id)
        if msg_id % PHOTO_EVERY == 0:
            world.add_photo(photos, msg_id, jpegs[msg_id % len(jpegs)], body, date=date)
        else:
            world.add_message(photos, msg_id, body, date=date, views=msg_id)

    async def main() -> None:
        async with FakeDC(world) as dc:
            sessions = [dc.string_session() for _ in range(2)]
            print(json.dumps({"port": dc.port, "sessions": sessions}), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hash_worker_cpu(processes: int) -> dict[int, float]:
    """CPU seconds of each of this process's hash workers (crawler/hash_workers.py)."""
    return {pid: cpu_seconds(pid) for pid in hash_workers.shared(processes).pids()}


def chanwatch_run(engine: Engine, session: str, username: str, messages: int) -> dict[str, Any]:
    settings = Settings(
        database_url=str(engine.url),
        telegram={
            "api_id": API_ID, "api_hash": API_HASH, "backfill_limit": messages,
            "accounts": [{"name": "bench", "session": session}],
        },
    )  # fmt: skip
    with engine.begin() as conn:
        spec = TargetSpec(kind="telegram", locator=f"@{username}", interval_s=3600)
        add_target(conn, "bench", spec, added_by="bench", at=datetime.now(UTC))
    processes = settings.media.hash_processes
    workers = hash_worker_cpu(processes)
    wall, cpu = time.perf_counter(), time.process_time()
    [result] = asyncio.run(crawl_once(engine, settings, locator=f"@{username}"))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    hashing = sum(t - workers.get(pid, 0.0) for pid, t in hash_worker_cpu(processes).items())
    assert result.outcome.status == "ok", result.outcome
    assert result.counts.items_new == messages, result.counts
    return {
        "messages": messages, "seconds": round(wall, 2),
        "messages_per_s": round(messages / wall),
        "cpu_ms_per_message": round(cpu * 1000 / messages, 3),
        "hash_workers_cpu_ms_per_message": round(hashing * 1000 / messages, 3),
        "photos_hashed": result.counts.media_hashed,
        "photos_per_s": round(result.counts.media_hashed / wall, 1),
    }  # fmt: skip


async def _naive(engine: Engine, session: str, username: str, messages: int) -> int:
    client = TelegramClient(StringSession(session), API_ID, API_HASH, receive_updates=False)
    await client.connect()
    hashed = 0
    try:
        entity = await client.get_entity(f"@{username}")  # resolved again on every run
        source = source_key(entity.id, entity.username)
        seen = 0
        async for message in client.iter_messages(entity, reverse=True):  # default wait_time
            post = parse_message(message, source, datetime.now(UTC)).post
            if message.photo is not None:
                data = await client.download_media(message, file=bytes)
                media = hash_media_bytes(
                    data, kind="photo", mime="image/jpeg", max_bytes=20_000_000
                )
                post = post.__class__(**{**_fields(post), "media": (media,)})
                hashed += 1
            ingest(engine, [post])  # one commit per message
            seen += 1
            if seen == messages:
                break
    finally:
        await client.disconnect()
    return hashed


def _fields(post: Any) -> dict[str, Any]:
    return {name: getattr(post, name) for name in post.__slots__}


def naive_run(engine: Engine, session: str, username: str, messages: int) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    hashed = asyncio.run(_naive(engine, session, username, messages))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "messages": messages, "seconds": round(wall, 2),
        "messages_per_s": round(messages / wall, 1),
        "cpu_ms_per_message": round(cpu * 1000 / messages, 3),
        "photos_per_s": round(hashed / wall, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--baseline-messages", type=int, default=1_500)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.messages)
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--messages", str(args.messages)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    served = json.loads(child.stdout.readline())
    figures: dict[str, Any] = {"machine": "2 shared cores; fake DC in a child process"}
    try:
        with (
            guards.no_real_telegram(default_port=served["port"]),
            tempfile.TemporaryDirectory() as tmp,
        ):
            session, baseline_session = served["sessions"]
            for name in ("text", "photos"):
                username = f"bench_{name}"
                engine = sqlite_engine(tmp, f"chanwatch_{name}")
                dc_cpu = cpu_seconds(child.pid)
                ours = chanwatch_run(engine, session, username, args.messages)
                # The fake DC's own cost: it shares the two cores with the collector.
                dc_ms = (cpu_seconds(child.pid) - dc_cpu) * 1000 / args.messages
                figures[f"chanwatch_{name}"] = {**ours, "dc_cpu_ms_per_message": round(dc_ms, 3)}
                print(name, figures[f"chanwatch_{name}"], flush=True)
                engine.dispose()
                engine = sqlite_engine(tmp, f"naive_{name}")
                figures[f"naive_{name}"] = naive_run(
                    engine, baseline_session, username, args.baseline_messages
                )
                print(name, "naive", figures[f"naive_{name}"], flush=True)
                engine.dispose()
            with postgres_engine() as engine:
                # The text channel again, into PostgreSQL (a fresh database, so a first run).
                figures["chanwatch_text_postgres"] = chanwatch_run(
                    engine, session, "bench_text", args.messages
                )
    finally:
        child.stdin.close()
        child.wait()
    for name in ("text", "photos"):
        ours, naive = figures[f"chanwatch_{name}"], figures[f"naive_{name}"]
        figures[f"speedup_{name}"] = round(ours["messages_per_s"] / naive["messages_per_s"], 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
