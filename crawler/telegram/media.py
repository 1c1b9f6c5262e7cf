"""Fetch a message's files into memory and hash them; the bytes are dropped right after.

Images (photos, image documents, stickers, a video's largest thumbnail) are fetched whole under
`media.max_bytes` and get SHA-256, MD5 and PDQ. Everything else is streamed chunk by chunk
through a `StreamingHasher` up to `telegram.video_max_bytes`, never held whole. Nothing is
written anywhere; every file that is not hashed says why in its `hash_status`.

Contacts and places have no file: their normalized value gets an HMAC under the installation's
`media.doxx_key` (`no_key` without one) and is dropped like the bytes are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from telethon import errors
from telethon.tl import types

from crawler.hash_workers import HashWorkers
from crawler.hashing.images import wants_pdq
from crawler.hashing.keyed import keyed_value_hash
from crawler.hashing.media import StreamingHasher, hash_chunks
from crawler.observations import HashStatus, MediaHashes, split_pdq
from crawler.telegram.client import TelegramAPI
from crawler.telegram.parse import MediaPlan

# Outcomes that the same bytes would give again; an error or a policy skip is retried.
_FINAL = frozenset({HashStatus.HASHED.value, HashStatus.UNDECODABLE.value})
_REUSED = (
    "sha256", "md5", "pdq", "pdq_quality", "pdq_dihedral", "hash_status", "width", "height",
    "size",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MediaPolicy:
    hash_media: bool
    max_bytes: int
    stream_max_bytes: int
    concurrency: int
    doxx_key: bytes | None = None
    """`MediaSettings.doxx_hmac_key()`: the key for contacts' and places' keyed hashes."""


class MediaHasher:
    def __init__(self, api: TelegramAPI, policy: MediaPolicy, workers: HashWorkers) -> None:
        self._api = api
        self._policy = policy
        self._workers = workers
        self._slots = asyncio.Semaphore(policy.concurrency)

    async def hash_all(
        self,
        plans: Sequence[MediaPlan],
        known: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> tuple[MediaHashes, ...]:
        """Hashes of `plans` in order. `known` (file id → stored media row) spares a re-check
        from fetching files it already hashed: the same file id is the same bytes."""
        return tuple(await asyncio.gather(*(self._one(plan, known or {}) for plan in plans)))

    async def _one(self, plan: MediaPlan, known: Mapping[str, Mapping[str, Any]]) -> MediaHashes:
        meta = plan.meta
        stored = known.get(meta.file_id or "")
        if stored is not None and stored["hash_status"] in _FINAL:
            values = {name: stored[name] for name in _REUSED}
            values["hash_status"] = HashStatus(values["hash_status"])
            values["pdq_dihedral"] = split_pdq(values["pdq_dihedral"])
            return replace(meta, **values)
        if not self._policy.hash_media:
            return replace(meta, hash_status=HashStatus.POLICY_OFF)
        file = plan.file
        if file is None:
            return self._keyed(plan)
        async with self._slots:
            try:
                if plan.streamed and not wants_pdq(meta.kind, meta.mime):
                    return await self._stream(plan, file)
                return await self._whole(plan, file)
            except (errors.FloodWaitError, errors.AuthKeyError, errors.UnauthorizedError):
                raise  # account-level: the collector defers the target
            except (errors.RPCError, OSError, ValueError):
                # A file the platform would not serve (expired reference, gone) is recorded
                # as such; the post itself is still collected.
                return replace(meta, hash_status=HashStatus.ERROR)

    def _keyed(self, plan: MediaPlan) -> MediaHashes:
        """A medium without a file: polls and dice as they are; a contact or place by the keyed
        hash of its value (a value that did not normalize is recorded by kind only)."""
        if plan.value is None:
            return plan.meta
        if self._policy.doxx_key is None:
            return replace(plan.meta, hash_status=HashStatus.NO_KEY)
        digest = keyed_value_hash(self._policy.doxx_key, plan.value)
        return replace(plan.meta, sha256=digest, hash_status=HashStatus.HASHED)

    async def _whole(self, plan: MediaPlan, file: types.Photo | types.Document) -> MediaHashes:
        meta, cap = plan.meta, self._policy.max_bytes
        if meta.size is not None and meta.size > cap:
            return replace(meta, hash_status=HashStatus.TOO_LARGE)
        data = await self._api.download(file, plan.thumb)
        # Decoding and PDQ (~8 ms of CPU a photo) run in a worker process: the event loop goes
        # on downloading and committing meanwhile.
        hashed = await self._workers.hash(
            data, kind=meta.kind, mime=meta.mime, ordinal=meta.ordinal, max_bytes=cap,
            file_id=meta.file_id, width=meta.width, height=meta.height, duration=meta.duration,
        )  # fmt: skip
        del data
        return hashed

    async def _stream(self, plan: MediaPlan, file: types.Photo | types.Document) -> MediaHashes:
        meta = plan.meta
        hasher = StreamingHasher(
            kind=meta.kind, mime=meta.mime, max_bytes=self._policy.stream_max_bytes,
            ordinal=meta.ordinal, expected_size=meta.size, file_id=meta.file_id,
            width=meta.width, height=meta.height, duration=meta.duration,
        )  # fmt: skip
        if hasher.exceeded:
            return hasher.finish()
        return await hash_chunks(self._api.stream(file), hasher)
