"""How `chanwatch crawl --once` runs a spider: one child process per target.

Measured choices (Scrapy 2.19, Twisted 26.10, see bench/README.md):
- `AsyncCrawlerRunner` with `TWISTED_REACTOR_ENABLED=False` runs inside `asyncio.run`, but
  only with the aiohttp download handler, which Scrapy marks experimental; our guard lives in
  the Twisted resolver that handler does not use.
- The Twisted reactor inside the CLI's `asyncio.run` hangs unless started without signal
  handlers, and it cannot be restarted in the same process (ReactorNotRestartable), so a
  scheduler that crawls again an hour later would need a new process anyway.
- A child process per target costs about a second of start-up (imports) and gives the
  spider the stock, well-trodden reactor and HTTP/1.1 handler, its own memory (returned to the
  OS when it ends), and a hard time limit the parent can enforce by killing it.

The parent sends the job (target, run id, settings) on stdin, never in argv or the
environment. The child forks its ingest writer (spiders/writer.py: a `RunContext` with
the matchers, on the other core), crawls, and prints its outcome as one JSON line on
stdout. It ends itself, writer first, when the parent dies or after `spiders.max_run_s`
(`_Lifeline`), so no spider outlives the pass that started it. Measured cost: ~1.2 s of
start-up per target (imports), so a pass over hundreds of spider targets spends minutes
starting processes; one child per pass is the next step if that matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import sys
import threading
from dataclasses import asdict, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from crawler.collect import RunStatus, Sink, TargetOutcome
from crawler.logging import get_logger, redact_text
from crawler.settings import ENV_PREFIX, Settings
from storage.watchlist_store import TargetRow

if TYPE_CHECKING:
    from spiders.writer import IngestWriter

log = get_logger(__name__)
FIRST = asyncio.FIRST_COMPLETED
SHUTDOWN_GRACE_S = 20.0
"""How long a spider told to stop may take to close (in-flight requests, the writer's commit)."""

_STDOUT_FD, _STDERR_FD = 1, 2
EXIT_ENDED = 3
"""The child's exit status when its lifeline ended it (parent gone, or over its time)."""

SPIDER_FOR_KIND = {"tme_preview": "tme_preview", "web_page": "page_watch"}
_SETTINGS_SENT = {
    "database_url": True,
    "net": True,
    "media": True,
    "spiders": True,
    "telegram": {"preview_base_url"},
}


def job_document(
    target: TargetRow, run_id: int, settings: Settings, scrapy_overrides: dict[str, Any]
) -> dict[str, Any]:
    """What the child needs, as JSON: no Telegram secrets (the spiders never use them)."""
    row = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(target).items()}
    return {
        "spider": SPIDER_FOR_KIND[target.kind],
        "run_id": run_id,
        "target": row,
        "settings": _child_settings(settings),
        "scrapy": scrapy_overrides,
    }


def _child_settings(settings: Settings) -> dict[str, Any]:
    """The settings the child needs. Secrets dump masked; the one it uses, the doxx key (places
    on previews are hashed with it like the API collector's), travels resolved, on stdin."""
    document = settings.model_dump(mode="json", include=_SETTINGS_SENT)
    key = settings.media.doxx_hmac_key()
    document["media"]["doxx_key"] = key.decode("utf-8") if key is not None else None
    return document


class SpiderCollector:
    """The Collector for `tme_preview` and `web_page` targets (registered in crawler.crawl)."""

    def __init__(self, name: str, scrapy_overrides: dict[str, Any] | None = None) -> None:
        self.name = name
        self._overrides = scrapy_overrides or {}

    def unavailable(self, settings: Settings) -> TargetOutcome | None:
        return None

    async def collect(self, target: TargetRow, run: Sink) -> TargetOutcome:
        job = job_document(target, run.run_id, run.settings, self._overrides)
        # The child's settings come from the job alone, not from CHANWATCH_* variables
        # (which may hold secrets it does not need).
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(ENV_PREFIX)}
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "spiders.runner",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        limit = run.settings.spiders.max_run_s
        talk = asyncio.ensure_future(child.communicate(json.dumps(job).encode()))
        stopping = asyncio.ensure_future(run.until_stopping())
        try:
            done, _ = await asyncio.wait({talk, stopping}, timeout=limit, return_when=FIRST)
            if talk not in done and stopping in done:
                # Shutting down: Scrapy closes the spider gracefully on SIGTERM (requests in
                # flight finish, the writer commits) and still prints its outcome.
                child.terminate()
                await asyncio.wait({talk}, timeout=SHUTDOWN_GRACE_S)
            if not talk.done():
                child.kill()
                await child.wait()
                if stopping.done():
                    return TargetOutcome(RunStatus.ERROR, "spider did not stop at shutdown")
                return TargetOutcome(
                    RunStatus.ERROR, f"spider ran longer than spiders.max_run_s ({limit} s)"
                )
        finally:
            stopping.cancel()
            if not talk.done():
                talk.cancel()
        out, err = talk.result()
        if err.strip():  # Scrapy's warnings and errors: kept in our log, secrets redacted
            tail = err.decode("utf-8", "replace").strip().splitlines()[-20:]
            log.warning("spider output", target=target.locator, stderr=redact_text("\n".join(tail)))
        return _outcome(child.returncode, out, err)


def _outcome(returncode: int | None, out: bytes, err: bytes) -> TargetOutcome:
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else None
    except ValueError:
        found = None
    if returncode == 0 and isinstance(found, dict) and isinstance(found.get("status"), str):
        retry_at = found.get("retry_at")
        return TargetOutcome(
            found["status"], found.get("message"),
            datetime.fromisoformat(retry_at) if isinstance(retry_at, str) else None,
        )  # fmt: skip
    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
    message = redact_text(f"spider process exited {returncode}: {tail[0]}")
    return TargetOutcome(RunStatus.ERROR, message)


def _target(row: dict[str, Any]) -> TargetRow:
    values = {}
    for field in fields(TargetRow):
        value = row.get(field.name)
        if field.name in ("added_at", "next_due_at", "last_run_at") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        values[field.name] = value
    return TargetRow(**values)


def run_job(job: dict[str, Any]) -> TargetOutcome:
    """Run one spider to completion in this process (which must not have run a reactor yet).

    The process ends itself, with its writer, when its parent dies or after
    `spiders.max_run_s` (`_Lifeline`).
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from spiders.page_watch import PageWatchSpider
    from spiders.session import CrawlSession
    from spiders.settings import scrapy_settings
    from spiders.tme_preview import TmePreviewSpider
    from spiders.writer import IngestWriter
    from storage.engine import make_engine

    settings = Settings(**job["settings"])
    # Forked first: no threads, reactor or database connections exist yet.
    writer = IngestWriter(job["settings"], job["run_id"])
    lifeline = _Lifeline(writer, settings.spiders.max_run_s)
    lifeline.start()
    engine = make_engine(settings.database_url)
    try:
        session = CrawlSession(settings, engine, _target(job["target"]), writer)
        spider = {"tme_preview": TmePreviewSpider, "page_watch": PageWatchSpider}[job["spider"]]
        process = CrawlerProcess(scrapy_settings(settings, **job.get("scrapy", {})))
        crawler = process.create_crawler(spider)

        def on_error(failure: Any, **_: Any) -> None:
            session.report("error", redact_text(f"{type(failure.value).__name__}: {failure.value}"))

        crawler.signals.connect(on_error, signal=signals.spider_error)
        crawler.signals.connect(on_error, signal=signals.item_error)
        process.crawl(crawler, session=session)
        process.start()
        return session.outcome
    finally:
        lifeline.stop()
        writer.kill()  # a no-op after a clean close; never leave it behind
        engine.dispose()


class _Lifeline:
    """Ends this spider process, writer first, when its parent dies or `max_run_s` is over.

    Parent death: the parent holds the only read end of our stdout pipe (asyncio's
    `communicate`), the kernel closes it when the parent dies, even by SIGKILL, and a pipe
    without readers reports POLLERR to its writer. Not stdin: `communicate` closes it right
    after sending the job. Not PR_SET_PDEATHSIG: it fires when the spawning *thread* ends, and
    asyncio may spawn from a thread that ends long before the parent. Orphaned, a spider would
    keep crawling and writing, racing the next pass over the same target.

    Time: the parent kills a child that outlives `max_run_s` counted from the spawn; this timer
    starts a little later and is the backstop for a parent that is alive but stuck.
    """

    def __init__(self, writer: IngestWriter, limit_s: float) -> None:
        self._writer = writer
        self._wake_r, self._wake_w = os.pipe()
        why = f"spider ran longer than spiders.max_run_s ({limit_s:g} s)"
        self._timer = threading.Timer(limit_s, self._end, (why,))
        self._timer.daemon = True

    def start(self) -> None:
        """Call after the writer is forked: a fork must not copy running threads."""
        threading.Thread(target=self._watch_parent, name="lifeline", daemon=True).start()
        self._timer.start()

    def stop(self) -> None:
        """The run is over: leave a caller that goes on (a benchmark) alone."""
        self._timer.cancel()
        os.write(self._wake_w, b"x")

    def _watch_parent(self) -> None:
        poller = select.poll()
        poller.register(_STDOUT_FD, 0)  # POLLERR and POLLHUP are reported regardless
        poller.register(self._wake_r, select.POLLIN)
        while True:
            for fd, events in poller.poll():
                if fd == self._wake_r or events & select.POLLNVAL:
                    return  # stopped, or no stdout to watch: nothing more to learn here
                if events & (select.POLLERR | select.POLLHUP):
                    self._end("the parent process is gone")

    def _end(self, why: str) -> NoReturn:
        """Kill the writer first (its open transaction rolls back: nothing is written after
        this), say why as the last line of stderr (the parent reports it), and exit at once:
        a graceful Scrapy close would go on fetching and writing for a parent that is gone or
        no longer waiting."""
        self._writer.kill()
        with contextlib.suppress(OSError):
            os.write(_STDERR_FD, f"\n{why}\n".encode())
        os._exit(EXIT_ENDED)


def main() -> None:
    outcome = run_job(json.loads(sys.stdin.read()))
    retry_at = outcome.retry_at.isoformat() if outcome.retry_at else None
    line = {"status": outcome.status, "message": outcome.message, "retry_at": retry_at}
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
