"""A media file's hashes: SHA-256 and MD5 of its bytes, and PDQ when it is an image.

``hash_media_bytes`` takes a file held in memory; ``StreamingHasher`` and ``hash_chunks`` take
a large one chunk by chunk, never holding more than one chunk. The caller drops the bytes
afterwards; nothing here writes them anywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable
from dataclasses import replace

from crawler.hashing.images import UNDECODABLE, decode_image, pdq_of_image, wants_pdq
from crawler.observations import HashStatus, MediaHashes


def hash_media_bytes(
    data: bytes,
    *,
    kind: str,
    mime: str | None,
    ordinal: int = 0,
    max_bytes: int,
    file_id: str | None = None,
    width: int | None = None,
    height: int | None = None,
    duration: float | None = None,
) -> MediaHashes:
    """Hash one media file held in memory; the caller drops ``data`` afterwards.

    SHA-256 and MD5 always (within ``max_bytes``); PDQ too when ``wants_pdq(kind, mime)``.
    ``width``/``height`` are what the platform reported; a decoded image's size replaces them.
    Never raises for bad input: the outcome is in ``hash_status``.
    """
    base = MediaHashes(
        kind=kind,
        ordinal=ordinal,
        mime=mime,
        size=len(data),
        width=width,
        height=height,
        duration=duration,
        file_id=file_id,
        hash_status=HashStatus.ERROR,
    )
    if len(data) > max_bytes:
        return replace(base, hash_status=HashStatus.TOO_LARGE)
    hashed = replace(
        base,
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hash_status=HashStatus.HASHED,
    )
    if not wants_pdq(kind, mime):
        return hashed
    try:
        # No warnings.catch_warnings() here: it is not thread-safe and hashing runs in worker
        # threads. decode_image raises on bombs itself; where a filter turns Pillow's
        # DecompressionBombWarning into an exception, UNDECODABLE covers it as well.
        decoded = decode_image(data)
    except UNDECODABLE:
        return replace(hashed, hash_status=HashStatus.UNDECODABLE)
    except Exception:
        return replace(hashed, hash_status=HashStatus.ERROR)
    try:
        pdq = pdq_of_image(decoded.image)
    except Exception:
        return replace(hashed, hash_status=HashStatus.ERROR)
    finally:
        decoded.image.close()
    return replace(
        hashed, pdq=pdq.hash, pdq_quality=pdq.quality, pdq_dihedral=pdq.dihedral,
        width=decoded.width, height=decoded.height,
    )  # fmt: skip


class StreamingHasher:
    """SHA-256 and MD5 of a large file fed in chunks, never holding more than one chunk.

    For videos and big documents downloaded with Telethon's ``iter_download``: feed each chunk
    to ``update`` and stop downloading as soon as it returns False (the cap was exceeded, the
    hashes are dropped). ``finish`` gives the record; a size that disagrees with the announced
    one (a cut-off download) is an error, never a partial hash.
    """

    def __init__(
        self,
        *,
        kind: str,
        mime: str | None,
        max_bytes: int,
        ordinal: int = 0,
        expected_size: int | None = None,
        file_id: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: float | None = None,
    ) -> None:
        self._base = MediaHashes(
            kind=kind,
            ordinal=ordinal,
            mime=mime,
            size=expected_size,
            width=width,
            height=height,
            duration=duration,
            file_id=file_id,
            hash_status=HashStatus.ERROR,
        )
        self._max_bytes = max_bytes
        self._expected_size = expected_size
        self._seen = 0
        self._sha256: hashlib._Hash | None = hashlib.sha256()
        self._md5: hashlib._Hash | None = hashlib.md5(usedforsecurity=False)
        self._finished = False
        if expected_size is not None and expected_size > max_bytes:
            self._drop()

    @property
    def exceeded(self) -> bool:
        """True once the file is known to be over the cap: do not download (any more of) it."""
        return self._sha256 is None

    def update(self, chunk: bytes) -> bool:
        """Hash one chunk; returns False when the caller should stop feeding chunks."""
        if self._finished:
            raise RuntimeError("update() after finish()")
        if self._sha256 is None or self._md5 is None:
            return False
        self._seen += len(chunk)
        if self._seen > self._max_bytes:
            self._drop()
            return False
        self._sha256.update(chunk)
        self._md5.update(chunk)
        return True

    def finish(self) -> MediaHashes:
        self._finished = True
        if self._sha256 is None or self._md5 is None:
            return replace(self._base, hash_status=HashStatus.TOO_LARGE)
        if self._expected_size is not None and self._seen != self._expected_size:
            return self._base
        return replace(
            self._base,
            size=self._seen,
            sha256=self._sha256.hexdigest(),
            md5=self._md5.hexdigest(),
            hash_status=HashStatus.HASHED,
        )

    def _drop(self) -> None:
        self._sha256 = None
        self._md5 = None


async def hash_chunks(chunks: AsyncIterable[bytes], hasher: StreamingHasher) -> MediaHashes:
    """Feed an async chunk stream (e.g. ``client.iter_download(...)``) to ``hasher``.

    Stops pulling chunks as soon as the cap is exceeded, so an oversized file is not
    downloaded to the end. Errors of the stream itself propagate to the caller.
    """
    if not hasher.exceeded:
        async for chunk in chunks:
            if not hasher.update(chunk):
                break
    return hasher.finish()
