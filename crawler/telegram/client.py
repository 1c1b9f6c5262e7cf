"""A thin adapter over Telethon: the few raw API calls the collector makes, nothing more.

Raw requests rather than Telethon's friendly helpers, because the helpers hide what the rules
are about: `iter_messages` resolves usernames on its own and sleeps between chunks,
`get_messages` may bump view counters. Telethon errors (FloodWaitError, ChannelPrivateError…)
propagate; the collector decides what they mean.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from telethon import TelegramClient, functions, types
from telethon.sessions import StringSession

from crawler.errors import ConfigError

PAGE = 100
"""Telegram's largest page for messages.getHistory and channels.getMessages."""

TLMessage = types.Message | types.MessageService


@dataclass(frozen=True, slots=True)
class Page:
    """Messages of one answer (ascending by id) and the channels it names (forward origins)."""

    messages: list[TLMessage | types.MessageEmpty]
    chats: dict[int, types.Channel]


def session_key_id(session: str) -> str:
    """The auth key id of a StringSession, without connecting: the identity a lease is keyed by."""
    try:
        key = StringSession(session).auth_key
    except ValueError:
        key = None
    if key is None:
        raise ConfigError("a telegram account's session is not a valid StringSession")
    return str(key.key_id)


class TelegramAPI:
    def __init__(
        self,
        session: str,
        api_id: int,
        api_hash: str,
        *,
        flood_sleep_threshold: int,
        fence: Callable[[], None] = lambda: None,
    ) -> None:
        # Called before every request: raises when this process may no longer hold the
        # session's lease, so a key is never used after another host could have taken it.
        self._fence = fence
        self.client = TelegramClient(
            StringSession(session),
            api_id,
            api_hash,
            # Only short waits are slept through; a long one must park the account instead.
            flood_sleep_threshold=flood_sleep_threshold,
            receive_updates=False,
            connection_retries=2,
            retry_delay=1,
            request_retries=2,
        )

    async def __aenter__(self) -> TelegramAPI:
        try:
            await self.client.connect()
        except BaseException:
            # Telethon also ends its `disconnected` future with the error; consume it.
            await self.client.disconnect()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.disconnect()

    async def is_authorized(self) -> bool:
        return bool(await self.client.is_user_authorized())

    async def resolve(self, username: str) -> types.Channel:
        """contacts.resolveUsername; a name held by a user or bot is not a channel."""
        self._fence()
        answer = await self.client(functions.contacts.ResolveUsernameRequest(username))
        peer = answer.peer
        for chat in answer.chats:
            wanted = isinstance(peer, types.PeerChannel) and chat.id == peer.channel_id
            if wanted and isinstance(chat, types.Channel):
                return chat
        raise LookupError(f"@{username} is not a channel")

    async def full_channel(
        self, peer: types.InputPeerChannel
    ) -> tuple[types.Channel, types.ChannelFull]:
        self._fence()
        answer = await self.client(functions.channels.GetFullChannelRequest(_channel(peer)))
        chat = next(c for c in answer.chats if c.id == peer.channel_id)
        return chat, answer.full_chat

    async def nth_newest_id(self, peer: types.InputPeerChannel, n: int) -> int | None:
        """Id of the n-th newest message (1 = newest), None when the channel has fewer."""
        page = await self._history(peer, offset_id=0, add_offset=max(n - 1, 0), limit=1)
        return page.messages[0].id if page.messages else None

    async def history_after(self, peer: types.InputPeerChannel, newest_id: int) -> Page:
        """Up to PAGE messages right after `newest_id`, oldest first (Telethon's own reverse
        iteration: offset at the id and a negative add_offset)."""
        return await self._history(
            peer, offset_id=newest_id + 1, add_offset=-PAGE, limit=PAGE, min_id=newest_id
        )

    async def history_before(
        self, peer: types.InputPeerChannel, oldest_id: int, limit: int = PAGE
    ) -> Page:
        """Up to `limit` (at most PAGE) messages right before `oldest_id`."""
        return await self._history(peer, offset_id=oldest_id, add_offset=0, limit=min(limit, PAGE))

    async def _history(
        self,
        peer: types.InputPeerChannel,
        *,
        offset_id: int,
        add_offset: int,
        limit: int,
        min_id: int = 0,
    ) -> Page:
        self._fence()
        request = functions.messages.GetHistoryRequest(
            peer=peer, offset_id=offset_id, offset_date=None, add_offset=add_offset,
            limit=limit, max_id=0, min_id=min_id, hash=0,
        )  # fmt: skip
        return _page(await self.client(request))

    async def messages(self, peer: types.InputPeerChannel, ids: Sequence[int]) -> Page:
        """channels.getMessages: a deleted message comes back as MessageEmpty."""
        self._fence()
        request = functions.channels.GetMessagesRequest(
            _channel(peer), [types.InputMessageID(i) for i in ids]
        )
        return _page(await self.client(request), keep_empty=True)

    async def views(
        self, peer: types.InputPeerChannel, ids: Sequence[int]
    ) -> list[types.MessageViews]:
        """Exact views and forwards; increment=False so that collecting never counts as viewing."""
        self._fence()
        request = functions.messages.GetMessagesViewsRequest(peer, list(ids), increment=False)
        return list((await self.client(request)).views)

    async def download(self, file: types.Photo | types.Document, thumb: str | None) -> bytes:
        """The whole file (or one thumbnail) into memory: `file=bytes` never touches disk."""
        self._fence()
        if thumb is None:
            data = await self.client.download_media(file, file=bytes)
        else:
            size = next((t for t in file.thumbs or () if getattr(t, "type", None) == thumb), None)
            if size is None:
                raise ValueError(f"the file has no thumbnail {thumb!r}")
            data = await self.client.download_media(file, file=bytes, thumb=size)
        if not isinstance(data, bytes):
            raise ValueError("the file has no downloadable content")
        return data

    def stream(self, file: types.Document) -> AsyncIterator[bytes]:
        self._fence()
        return self.client.iter_download(file)


def _channel(peer: types.InputPeerChannel) -> types.InputChannel:
    return types.InputChannel(peer.channel_id, peer.access_hash)


def _page(answer: object, *, keep_empty: bool = False) -> Page:
    found = getattr(answer, "messages", [])
    kept = [
        m
        for m in found
        if isinstance(m, types.Message | types.MessageService)
        or (keep_empty and isinstance(m, types.MessageEmpty))
    ]
    chats = {c.id: c for c in getattr(answer, "chats", []) if isinstance(c, types.Channel)}
    return Page(sorted(kept, key=lambda m: m.id), chats)
