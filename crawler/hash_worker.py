"""A hash worker process: ``python -m crawler.hash_worker`` (started by crawler.hash_workers).

Reads requests from stdin and answers each on stdout, in the wire format of crawler.hash_workers.
Exits on end of input, which is also what happens when the collector that started it dies.
Holds one file at a time, in memory only.
"""

from __future__ import annotations

import os
import sys
from typing import IO

from crawler.hash_workers import decode_request_header, encode_answer
from crawler.hashing.media import hash_media_bytes


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    while header := requests.readline():
        meta, size = decode_request_header(header)
        data = requests.read(size)
        if len(data) != size:
            return  # the collector went away mid-request
        hashed = hash_media_bytes(data, **meta)
        del data
        answers.write(encode_answer(hashed))
        answers.flush()


def main() -> None:
    # Answers get a private copy of stdout; fd 1 itself now points at stderr, so nothing a
    # library prints (even from C) can corrupt the answer stream.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
