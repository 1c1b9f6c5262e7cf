"""Hash worker processes: same hashes as in-process hashing, and a dead worker is replaced."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections.abc import Iterator

import pytest

from crawler.hash_worker import serve
from crawler.hash_workers import HashWorkers, decode_answer, encode_request
from crawler.hashing.media import hash_media_bytes
from crawler.observations import HashStatus, MediaHashes
from tests.factories import GOLDEN

CAP = 20 * 1024 * 1024
META = {"kind": "photo", "mime": "image/jpeg", "ordinal": 2, "max_bytes": CAP,
        "file_id": "f-1", "width": None, "height": None, "duration": None}  # fmt: skip


@pytest.fixture
def workers() -> Iterator[HashWorkers]:
    pool = HashWorkers(1)
    yield pool
    pool.close()


def _hash(pool: HashWorkers, data: bytes) -> MediaHashes:
    return asyncio.run(pool.hash(data, **META))  # type: ignore[arg-type]


def test_a_worker_gives_exactly_the_in_process_hashes(workers: HashWorkers) -> None:
    for path in sorted((GOLDEN / "bridge-mods").glob("*.jpg"))[:4]:
        data = path.read_bytes()
        ours = _hash(workers, data)
        assert ours == hash_media_bytes(data, **META)  # type: ignore[arg-type]
        assert ours.hash_status is HashStatus.HASHED and len(ours.pdq_dihedral) == 7


def test_undecodable_bytes_come_back_as_a_status_not_an_error(workers: HashWorkers) -> None:
    media = _hash(workers, b"\xff\xd8 not a jpeg")
    assert media.hash_status is HashStatus.UNDECODABLE
    assert (media.ordinal, media.file_id, media.size) == (2, "f-1", 13)


def test_a_worker_killed_between_files_is_replaced(workers: HashWorkers) -> None:
    data = (GOLDEN / "bridge-mods" / "shrink-a-lot.jpg").read_bytes()
    assert workers.pids() == []  # started by the first file, not before
    assert _hash(workers, data).hash_status is HashStatus.HASHED
    (pid,) = workers.pids()
    os.kill(pid, signal.SIGKILL)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped

    assert _hash(workers, data).hash_status is HashStatus.HASHED
    (replacement,) = workers.pids()
    assert replacement != pid


def test_the_worker_protocol_answers_each_request_in_order() -> None:
    files = [(GOLDEN / "bridge-mods" / name).read_bytes() for name in ("shrink-a-lot.jpg",
             "square-128x128.jpg")]  # fmt: skip
    requests = io.BytesIO(b"".join(encode_request(data, META) for data in files))
    answers = io.BytesIO()
    serve(requests, answers)
    lines = answers.getvalue().splitlines()
    assert [decode_answer(line) for line in lines] == [
        hash_media_bytes(data, **META)  # type: ignore[arg-type]
        for data in files
    ]


def test_a_request_cut_short_ends_the_worker_without_an_answer() -> None:
    data = (GOLDEN / "bridge-mods" / "shrink-a-lot.jpg").read_bytes()
    answers = io.BytesIO()
    serve(io.BytesIO(encode_request(data, META)[:-10]), answers)
    assert answers.getvalue() == b""


@pytest.mark.parametrize(
    "answer",
    [b'{"kind": "photo", "hash_status": "hashed", "__class__": "x"}', b"[1, 2]", b"not json"],
)
def test_an_answer_that_is_not_media_hashes_is_refused(answer: bytes) -> None:
    with pytest.raises(ValueError):
        decode_answer(answer)
