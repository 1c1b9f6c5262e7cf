"""The Telegram API collector: one watched `@username` per call, on one leased account.

Identity first: a channel is its numeric id. The username is resolved once per account and the
(id, access_hash) kept; later runs use the stored peer. When the stored peer stops answering,
the username is resolved again to tell a takedown (nothing there, or private) from a room
deleted and re-created under the same name (another id: a new source, linked to the old one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from telethon import errors
from telethon.tl import types

from crawler import hash_workers
from crawler.collect import RunStatus, Sink, TargetOutcome
from crawler.logging import get_logger, redact_text
from crawler.observations import (
    Observation,
    Platform,
    SourceAvailability,
    SourceKey,
    SourceRecreated,
)
from crawler.owner import LeaseLostError
from crawler.settings import Settings
from crawler.telegram import accounts
from crawler.telegram.client import TelegramAPI
from crawler.telegram.history import History
from crawler.telegram.media import MediaHasher, MediaPolicy
from crawler.telegram.parse import channel_snapshot, source_key
from storage import telegram_store as store
from storage.watchlist_store import TargetRow

log = get_logger(__name__)

# What an unreachable channel means, as the run's status.
UNREACHABLE: dict[type[errors.RPCError], str] = {
    errors.ChannelPrivateError: "private",
    errors.ChannelInvalidError: "invalid",
    errors.ChannelBannedError: "banned",
    errors.ChannelPublicGroupNaError: "banned",
    errors.UsernameNotOccupiedError: "not_found",
    errors.UsernameInvalidError: "invalid_username",
}
_UNREACHABLE_ERRORS = tuple(UNREACHABLE)
_ACCOUNT_ERRORS = (errors.AuthKeyError, errors.UnauthorizedError, errors.AuthKeyNotFound)


class NotAChannelError(LookupError):
    """The username belongs to a user or a bot: nothing chanwatch watches."""


@dataclass(frozen=True, slots=True)
class _Known:
    """What this database already knows about the target's channel."""

    source_id: int
    channel_id: int
    peer: types.InputPeerChannel | None


class TelegramCollector:
    name = "telegram"

    def unavailable(self, settings: Settings) -> TargetOutcome | None:
        telegram = settings.telegram
        if not telegram.accounts:
            message = "no Telegram account configured (telegram.accounts)"
            return TargetOutcome(RunStatus.NO_ACCOUNT, message)
        if telegram.api_id is None or telegram.api_hash is None:
            message = "telegram.api_id and telegram.api_hash are not set"
            return TargetOutcome(RunStatus.NO_ACCOUNT, message)
        return None

    async def collect(self, target: TargetRow, run: Sink) -> TargetOutcome:
        refused = self.unavailable(run.settings)
        if refused is not None:
            return refused
        telegram = run.settings.telegram
        picked = accounts.acquire(run.engine, telegram, datetime.now(UTC))
        if isinstance(picked, accounts.NoneFree):
            return TargetOutcome(RunStatus.DEFERRED, picked.reason, picked.retry_at)
        lease = picked
        with run.engine.begin() as conn:
            store.set_run_account(conn, run.run_id, lease.account.name)
        assert telegram.api_id is not None and telegram.api_hash is not None
        try:
            async with TelegramAPI(
                lease.session, telegram.api_id, telegram.api_hash.get_secret_value(),
                flood_sleep_threshold=telegram.flood_sleep_threshold, fence=lease.check,
            ) as api:  # fmt: skip
                outcome = await _ChannelRun(api, run, target, lease).run()
            accounts.mark(run.engine, lease, "ok")
            return outcome
        except errors.FloodError as exc:
            # Everything before this page is committed and the cursor sits right after it.
            seconds = getattr(exc, "seconds", 0) or 60
            until = accounts.park(run.engine, lease, seconds)
            when = until.isoformat(timespec="seconds")
            message = f"FLOOD_WAIT on {lease.account.name} until {when}"
            return TargetOutcome(RunStatus.DEFERRED, message, until, flood_wait_s=seconds)
        except _ACCOUNT_ERRORS as exc:
            message = f"account {lease.account.name} is not authorized: {type(exc).__name__}"
            accounts.mark(run.engine, lease, "unauthorized", message)
            return TargetOutcome(RunStatus.ERROR, message)
        except LeaseLostError as exc:
            return TargetOutcome(RunStatus.DEFERRED, str(exc))
        finally:
            accounts.release(run.engine, lease)


class _ChannelRun:
    def __init__(
        self, api: TelegramAPI, run: Sink, target: TargetRow, lease: accounts.Lease
    ) -> None:
        self.api, self.ctx, self.target, self.lease = api, run, target, lease
        self.telegram = run.settings.telegram
        self.username = target.locator.removeprefix("@")

    async def run(self) -> TargetOutcome:
        known = self._known()
        try:
            if known is not None and known.peer is not None:
                chat, full = await self.api.full_channel(known.peer)
            else:
                chat = await self._resolve()
                if isinstance(chat, TargetOutcome):
                    return chat
                chat, full = await self.api.full_channel(_peer(chat))
        except _UNREACHABLE_ERRORS as exc:
            return await self._unreachable(exc, known)
        except NotAChannelError as exc:
            return TargetOutcome(RunStatus.NOT_FOUND, str(exc))
        if known is not None and chat.id != known.channel_id:
            return await self._recreated(chat, full, known)
        return await self._collect(chat, full)

    def _known(self) -> _Known | None:
        with self.ctx.engine.connect() as conn:
            source_id = store.target_source(conn, self.target.id)
            if source_id is None:
                return None
            platform_id = store.source_platform_id(conn, source_id)
            access_hash = store.peer_access_hash(conn, self.lease.account.id, source_id)
        if platform_id is None:
            return None
        channel_id = int(platform_id)
        peer = None if access_hash is None else types.InputPeerChannel(channel_id, access_hash)
        return _Known(source_id, channel_id, peer)

    async def _resolve(self) -> types.Channel | TargetOutcome:
        """contacts.resolveUsername under the account's daily budget."""
        budget = self.telegram.resolve_budget
        if not accounts.take_resolve(self.ctx.engine, self.lease, budget):
            return TargetOutcome(
                "deferred", f"account {self.lease.account.name} spent its {budget} resolves today"
            )
        try:
            return await self.api.resolve(self.username)
        except LookupError as exc:
            raise NotAChannelError(str(exc)) from None

    async def _unreachable(self, exc: errors.RPCError, known: _Known | None) -> TargetOutcome:
        status = next(s for kind, s in UNREACHABLE.items() if isinstance(exc, kind))
        if known is not None and known.peer is not None:
            # The stored peer failed: is the name gone, or does it now name another room?
            try:
                chat = await self._resolve()
                if isinstance(chat, TargetOutcome):
                    return chat  # no resolve left today: undecided, not a takedown
                chat_full = await self.api.full_channel(_peer(chat))
                if chat.id != known.channel_id:
                    return await self._recreated(*chat_full, known)
                return await self._collect(*chat_full)  # only its access hash had changed
            except _UNREACHABLE_ERRORS as again:
                status = next(s for kind, s in UNREACHABLE.items() if isinstance(again, kind))
            except NotAChannelError:
                status = "not_found"
        message = f"@{self.username}: {status.replace('_', ' ')} ({type(exc).__name__})"
        if known is not None:
            # Reachable before, not now: a takedown signal, not an error of ours.
            old = source_key(known.channel_id, None)
            self.ctx.emit([SourceAvailability(old, datetime.now(UTC), False, status)])
        return TargetOutcome(status, redact_text(message))

    async def _recreated(
        self, chat: types.Channel, full: types.ChannelFull, known: _Known
    ) -> TargetOutcome:
        """The name now belongs to another channel: the old source is closed as unavailable
        (its history untouched), the new one starts from its own first message."""
        now = datetime.now(UTC)
        old = source_key(known.channel_id, None)
        reason = f"@{self.username} now names another channel (id {chat.id})"
        self.ctx.emit([SourceAvailability(old, now, False, reason)])
        log.info("room re-created", username=self.username, old=known.channel_id, new=chat.id)
        return await self._collect(chat, full, previous=old)

    async def _collect(
        self,
        chat: types.Channel,
        full: types.ChannelFull,
        *,
        previous: SourceKey | None = None,
    ) -> TargetOutcome:
        now = datetime.now(UTC)
        key = source_key(chat.id, chat.username)
        first: list[Observation] = [
            channel_snapshot(chat, full, now),
            SourceAvailability(key, now, True),
        ]
        if previous is not None:
            first.append(SourceRecreated(key, previous, now))
        self.ctx.emit(first)
        with self.ctx.engine.begin() as conn:
            source_id = store.source_id_for(conn, Platform.TELEGRAM.value, str(chat.id))
            assert source_id is not None  # ingest just wrote it
            if chat.access_hash is not None:
                store.save_peer(conn, self.lease.account.id, source_id, chat.access_hash, now)
            store.set_target_source(conn, self.target.id, source_id)
        policy = MediaPolicy(
            hash_media=self.ctx.settings.media.hash_media,
            max_bytes=self.ctx.settings.media.max_bytes,
            stream_max_bytes=self.telegram.video_max_bytes,
            concurrency=self.telegram.media_concurrency,
            doxx_key=self.ctx.settings.media.doxx_hmac_key(),
        )
        workers = hash_workers.shared(self.ctx.settings.media.hash_processes)
        history = History(
            self.api, self.ctx, MediaHasher(self.api, policy, workers),
            source_id=source_id, source=key, peer=_peer(chat),
            on_page=lambda: accounts.renew(self.ctx.engine, self.lease, self.telegram),
        )  # fmt: skip
        await history.collect()
        return TargetOutcome(RunStatus.OK)


def _peer(chat: types.Channel) -> types.InputPeerChannel:
    return types.InputPeerChannel(chat.id, chat.access_hash or 0)
