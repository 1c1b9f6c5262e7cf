"""Ingest in a process of its own, fed batches by the spider process.

Measured (bench/spiders.py): in one process, ingest with its matchers and the t.me/s parser
take turns on the GIL, so every ingested page costs the crawl its full ingest time — the full
pipeline ran at 0.54× a parse-only spider. Forked off before the reactor starts, the writer
ingests on the other core while the spider parses the next page.

The writer is forked at the start of the spider's process (no threads, no reactor, no open
database connections yet), opens its own engine, builds `default_matchers`, and ingests each
batch in order. `close()` returns only after every batch is committed, so the spider saves its
paging state after the data — "commit data before advancing a cursor".
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import threading
from collections.abc import Sequence
from multiprocessing.connection import wait
from multiprocessing.queues import Queue
from typing import Any

from crawler.observations import Observation

QUEUE_BATCHES = 4
"""Batches in flight: bounded, so a slow database slows the crawl instead of filling memory."""
_POLL_S = 1.0


class WriterDied(RuntimeError):
    pass


def _work(settings_doc: dict[str, Any], run_id: int, jobs: Queue, results: Queue) -> None:
    from crawler.jobs.runner import RunContext
    from crawler.matching.pipeline import build_matchers
    from crawler.settings import Settings
    from storage.engine import make_engine

    threading.Thread(target=_die_with_spider, name="die-with-spider", daemon=True).start()
    settings = Settings(**settings_doc)
    engine = make_engine(settings.database_url)
    error: str | None = None
    try:
        run = RunContext(engine, settings, run_id, build_matchers(engine, settings))
        while (batch := jobs.get()) is not None:
            if error is None:  # after a failure, drain so the spider never blocks on put
                try:
                    run.emit(batch)
                except Exception as exc:
                    error = f"ingest failed: {type(exc).__name__}"
    except Exception as exc:
        error = f"ingest writer failed: {type(exc).__name__}"
        while jobs.get() is not None:
            pass
    finally:
        engine.dispose()
        results.put(error)


def _die_with_spider() -> None:
    """Exit the moment the spider process is gone, however it ended (killed by its parent or
    by its own lifeline, or crashed): an orphaned writer would otherwise go on ingesting the
    batches still queued, and wait forever for more. The sentinel is the read end of a pipe
    whose write end only the spider holds, so it turns readable at its death. Exiting
    mid-batch rolls that batch's transaction back; the spider saved no paging state past it."""
    spider = multiprocessing.parent_process()
    if spider is not None:
        wait([spider.sentinel])
        os._exit(1)


class IngestWriter:
    def __init__(self, settings_doc: dict[str, Any], run_id: int) -> None:
        context = multiprocessing.get_context("fork")
        self._jobs: Queue = context.Queue(maxsize=QUEUE_BATCHES)
        self._results: Queue = context.Queue()
        self._process = context.Process(
            target=_work, args=(settings_doc, run_id, self._jobs, self._results), daemon=True
        )
        self._process.start()
        self._closed = False

    async def submit(self, batch: Sequence[Observation]) -> None:
        # put() blocks while the queue is full: wait in a thread, not on the reactor.
        await asyncio.to_thread(self._put, list(batch))

    async def close(self) -> str | None:
        """Wait until every batch is committed; the error that stopped ingest, if any."""
        if self._closed:
            return None
        self._closed = True
        return await asyncio.to_thread(self._finish)

    def _put(self, item: list[Observation] | None) -> None:
        while True:
            try:
                self._jobs.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                if not self._process.is_alive():
                    raise WriterDied("the ingest writer process died") from None

    def _finish(self) -> str | None:
        try:
            self._put(None)
        except WriterDied as exc:
            return str(exc)
        while True:
            try:
                error = self._results.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not self._process.is_alive():
                    return "the ingest writer process died"
        self._process.join()
        return error

    def kill(self) -> None:
        """End the writer without waiting (the spider process is failing anyway)."""
        if self._process.is_alive():
            self._process.kill()
