"""A channel's history, page by page: each page is committed before its cursor moves.

Order of a run: new posts upward from the last committed id; then the re-check window (edits,
deletions, fresh counters); then older history downward until the channel's first message.
A flood or a crash between pages loses nothing: the next run starts from the last committed
cursor, and ingest is idempotent for a page committed twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from telethon.tl import types

from crawler.crawl import RunContext
from crawler.observations import Counter, ItemGone, Observation, Post, SourceKey
from crawler.telegram.client import PAGE, Page, TelegramAPI
from crawler.telegram.media import MediaHasher
from crawler.telegram.parse import parse_message
from storage import telegram_store as store
from storage.telegram_store import Cursor


class History:
    def __init__(
        self,
        api: TelegramAPI,
        run: RunContext,
        media: MediaHasher,
        *,
        source_id: int,
        source: SourceKey,
        peer: types.InputPeerChannel,
        on_page: Callable[[], None],
    ) -> None:
        self.api, self.run, self.media = api, run, media
        self.source_id, self.source, self.peer = source_id, source, peer
        self.telegram = run.settings.telegram
        # Called after every committed page: renews the account's lease.
        self._on_page = on_page

    async def collect(self) -> None:
        with self.run.engine.connect() as conn:
            cursor = store.cursor(conn, self.source_id)
        if cursor is None:
            cursor = await self._first_cursor()
        continue_older = cursor.caught_up
        checked_below = cursor.newest_id + 1
        cursor = await self._newer(cursor)
        await self._recheck(below=checked_below)
        if continue_older:
            await self._older(cursor)

    async def _first_cursor(self) -> Cursor:
        """Start a first run `backfill_limit` messages below the newest one."""
        limit = self.telegram.backfill_limit
        if limit == 0:
            newest = await self.api.nth_newest_id(self.peer, 1) or 0
            return Cursor(newest, newest + 1, False)
        start = await self.api.nth_newest_id(self.peer, limit)
        if start is None:  # the whole channel fits within the limit
            return Cursor(0, None, True)
        return Cursor(start - 1, start, False)

    async def _newer(self, cursor: Cursor) -> Cursor:
        page = await self.api.history_after(self.peer, cursor.newest_id)
        while True:
            full = len(page.messages) == PAGE
            ahead = self.api.history_after(self.peer, page.messages[-1].id) if full else None
            following = await self._commit_ahead(page, ahead)
            if page.messages:
                cursor = replace(cursor, newest_id=page.messages[-1].id)
            if following is None:
                cursor = replace(cursor, caught_up=True)
                self._save(cursor)
                return cursor
            self._save(cursor)
            page = await following

    async def _older(self, cursor: Cursor) -> None:
        budget = self.telegram.backfill_limit
        if cursor.history_complete or budget <= 0 or cursor.oldest_id is None:
            return
        page = await self.api.history_before(self.peer, cursor.oldest_id, budget)
        while True:
            if not page.messages:
                self._save(replace(cursor, history_complete=True))
                return
            budget -= len(page.messages)
            more = len(page.messages) == PAGE and budget > 0
            ahead = (
                self.api.history_before(self.peer, page.messages[0].id, budget) if more else None
            )
            following = await self._commit_ahead(page, ahead)
            cursor = replace(cursor, oldest_id=page.messages[0].id)
            self._save(cursor)
            if following is None:
                return
            page = await following

    async def _commit_ahead(
        self, page: Page, ahead: Coroutine[Any, Any, Page] | None
    ) -> asyncio.Task[Page] | None:
        """Commit `page` while the next one (`ahead`) is already being fetched: the network
        wait overlaps hashing and the database. The cursor still moves only after the commit."""
        following = asyncio.ensure_future(ahead) if ahead is not None else None
        try:
            if page.messages:
                await self._commit(await self._posts(page))
        except BaseException:
            if following is not None:
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
            raise
        return following

    async def _recheck(self, *, below: int) -> None:
        telegram = self.telegram
        since = datetime.now(UTC) - timedelta(days=telegram.recheck_days)
        with self.run.engine.connect() as conn:
            ids = store.recheck_ids(
                conn, self.source_id, below=below, limit=telegram.recheck_count, since=since
            )
        for start in range(0, len(ids), PAGE):
            chunk = ids[start : start + PAGE]
            page = await self.api.messages(self.peer, chunk)
            views = await self.api.views(self.peer, chunk)
            observed = datetime.now(UTC)
            gone: list[Observation] = [
                ItemGone(self.source, str(m.id), observed)
                for m in page.messages
                if isinstance(m, types.MessageEmpty)
            ]
            live = Page(
                [m for m in page.messages if not isinstance(m, types.MessageEmpty)], page.chats
            )
            posts = await self._posts(live, known_ids=chunk)
            counted = dict(zip(chunk, views, strict=False))
            await self._commit([*gone, *(_with_views(p, counted.get(p.message_id)) for p in posts)])

    async def _posts(self, page: Page, known_ids: Sequence[int] = ()) -> list[Post]:
        observed = datetime.now(UTC)
        parsed = [parse_message(m, self.source, observed, page.chats) for m in page.messages]
        known: dict[str, dict[str, Any]] = {}
        if known_ids:
            with self.run.engine.connect() as conn:
                rows = store.stored_media(conn, self.source_id, known_ids)
            known = {row["file_id"]: row for row in rows.values() if row["file_id"]}
        hashed = await asyncio.gather(*(self.media.hash_all(p.media, known) for p in parsed))
        return [
            replace(p.post, media=media) if p.media else p.post
            for p, media in zip(parsed, hashed, strict=True)
        ]

    async def _commit(self, observations: Sequence[Observation]) -> None:
        if observations:
            self.run.emit(observations)
        self._on_page()

    def _save(self, cursor: Cursor) -> None:
        with self.run.engine.begin() as conn:
            store.save_cursor(conn, self.source_id, cursor, datetime.now(UTC))


def _with_views(post: Post, views: types.MessageViews | None) -> Post:
    """Counters from messages.getMessagesViews (increment=False) replace those in the message."""
    if views is None or views.views is None:
        return post
    forwards = Counter(views.forwards) if views.forwards is not None else post.forwards
    return replace(post, views=Counter(views.views), forwards=forwards)
