"""Hashing of whole media files in worker processes, off the collector's event loop.

Why processes and not threads: pdqhash holds the GIL for its whole run (~3.5 ms a photo), so a
hashing thread stalls the event loop, the downloads and ingest for as long; a worker process
hashes on another core while the collector keeps downloading and committing. It also keeps
hostile input away from the collector: an image that crashes a C decoder takes down one worker,
not the crawl (that file's `hash_status` is `error`, and a fresh worker takes its place).

A worker is ``python -m crawler.hash_worker`` on a pair of pipes, not a multiprocessing pool:
that needs no importable ``__main__`` (spawn re-runs the parent's main script), inherits no
locks from the collector's threads (fork), and leaves no socket file in the temp dir
(forkserver). The bytes live in the worker only in memory, as in `crawler.hashing`; nothing is
written. Answers come back as JSON, never pickle, so a worker subverted by a hostile file
cannot run code in the collector through its answer. Workers start on the first file to hash,
so a text-only crawl never pays for them.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import json
import queue
import subprocess
import sys
import threading
from typing import IO, Any

from crawler.hashing.media import hash_media_bytes
from crawler.observations import HashStatus, MediaHashes

_WORKER = [sys.executable, "-B", "-m", "crawler.hash_worker"]
_FIELDS = frozenset(field.name for field in dataclasses.fields(MediaHashes))


# The wire format, both ends: a request is a JSON line with the file's metadata and byte
# count followed by the bytes; an answer is one JSON line holding a MediaHashes.


def encode_request(data: bytes, meta: dict[str, Any]) -> bytes:
    return json.dumps({**meta, "size": len(data)}).encode() + b"\n" + data


def decode_request_header(line: bytes) -> tuple[dict[str, Any], int]:
    """The metadata of a request and how many bytes of file follow it."""
    meta = json.loads(line)
    return meta, meta.pop("size")


def encode_answer(hashed: MediaHashes) -> bytes:
    answer = dataclasses.asdict(hashed)
    answer["hash_status"] = hashed.hash_status.value
    return json.dumps(answer).encode() + b"\n"


def decode_answer(line: bytes) -> MediaHashes:
    """A worker's answer; anything malformed is a ValueError."""
    raw = json.loads(line)
    if not isinstance(raw, dict) or set(raw) - _FIELDS:
        raise ValueError("malformed answer from a hash worker")
    raw["hash_status"] = HashStatus(raw["hash_status"])
    raw["pdq_dihedral"] = tuple(raw.get("pdq_dihedral") or ())
    return MediaHashes(**raw)


class _Worker:
    def __init__(self) -> None:
        # A fixed argv of our own interpreter and module, no shell: nothing untrusted in it.
        self._process = subprocess.Popen(  # noqa: S603
            _WORKER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
        )

    def call(self, data: bytes, meta: dict[str, Any]) -> MediaHashes:
        stdin, stdout = self._pipes()
        stdin.write(encode_request(data, meta))
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise EOFError("the hash worker exited")
        return decode_answer(line)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        stdin, _ = self._pipes()
        try:
            stdin.close()
            self._process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout


class HashWorkers:
    """``hash_media_bytes`` in ``processes`` worker processes (0: in a thread of this one).

    Usable from any thread and any event loop: a call waits for an idle worker in a thread of
    the loop's default executor, and the pipes are blocking I/O that releases the GIL.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._running: set[_Worker] = set()
        self._lock = threading.Lock()

    async def hash(
        self,
        data: bytes,
        *,
        kind: str,
        mime: str | None,
        ordinal: int,
        max_bytes: int,
        file_id: str | None,
        width: int | None,
        height: int | None,
        duration: float | None,
    ) -> MediaHashes:
        """``hash_media_bytes`` of one file; never raises for the file's sake (a worker that
        died on it gives ``hash_status`` ``error``)."""
        meta = {
            "kind": kind, "mime": mime, "ordinal": ordinal, "max_bytes": max_bytes,
            "file_id": file_id, "width": width, "height": height, "duration": duration,
        }  # fmt: skip
        if self.processes == 0:
            return await asyncio.to_thread(lambda: hash_media_bytes(data, **meta))
        return await asyncio.to_thread(self._in_worker, data, meta)

    def pids(self) -> list[int]:
        """Process ids of the running workers (for monitoring and CPU accounting)."""
        with self._lock:
            return [worker.pid for worker in self._running]

    def close(self) -> None:
        with self._lock:
            workers, self._running = list(self._running), set()
            while not self._idle.empty():
                self._idle.get()
        for worker in workers:
            worker.close()

    def _in_worker(self, data: bytes, meta: dict[str, Any]) -> MediaHashes:
        worker = self._take()
        try:
            answer = worker.call(data, meta)
        except (OSError, EOFError, ValueError):
            # The worker died on this file (or answered nonsense): record the file as an error
            # and put a fresh worker in its place.
            self._retire(worker)
            self._idle.put(self._spawn())
            return MediaHashes(
                kind=meta["kind"], ordinal=meta["ordinal"], mime=meta["mime"], size=len(data),
                width=meta["width"], height=meta["height"], duration=meta["duration"],
                file_id=meta["file_id"], hash_status=HashStatus.ERROR,
            )  # fmt: skip
        self._idle.put(worker)
        return answer

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle.empty() and len(self._running) < self.processes:
                return self._spawn_locked()
        worker = self._idle.get()
        if not worker.alive:
            # Died while idle (the OOM killer, say): no file of ours was in it.
            self._retire(worker)
            worker = self._spawn()
        return worker

    def _spawn(self) -> _Worker:
        with self._lock:
            return self._spawn_locked()

    def _spawn_locked(self) -> _Worker:
        worker = _Worker()
        self._running.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._running.discard(worker)
        worker.close()


_shared: dict[int, HashWorkers] = {}
_shared_lock = threading.Lock()


def shared(processes: int) -> HashWorkers:
    """The process-wide pool of that size: every target of a crawl, and every crawl a long-lived
    process runs, reuses the same workers instead of starting interpreters again."""
    with _shared_lock:
        workers = _shared.get(processes)
        if workers is None:
            workers = _shared[processes] = HashWorkers(processes)
        return workers


@atexit.register
def _close_all() -> None:
    for workers in list(_shared.values()):
        workers.close()
