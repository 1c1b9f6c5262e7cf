"""A channel's history, page by page: each page is committed before its cursor moves.

Order of a run: new posts upward from the last committed id; then the re-check window (edits,
deletions, fresh counters); then older history downward until the channel's first message.
A flood or a crash between pages loses nothing: the next run starts from the last committed
cursor, and ingest is idempotent for a page committed twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from telethon.tl import types

from crawler.collect import RunStopped, Sink
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
        run: Sink,
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
        def following(page: Page) -> Coroutine[Any, Any, Page] | None:
            if len(page.messages) < PAGE:
                return None
            return self.api.history_after(self.peer, page.messages[-1].id)

        first = self.api.history_after(self.peer, cursor.newest_id)
        async with aclosing(self._pages(first, following)) as pages:
            async for page, posts in pages:
                await self._commit(posts)
                if page.messages:
                    cursor = replace(cursor, newest_id=page.messages[-1].id)
                self._save(cursor)
        cursor = replace(cursor, caught_up=True)
        self._save(cursor)
        return cursor

    async def _older(self, cursor: Cursor) -> None:
        budget = self.telegram.backfill_limit
        if cursor.history_complete or budget <= 0 or cursor.oldest_id is None:
            return

        def following(page: Page) -> Coroutine[Any, Any, Page] | None:
            nonlocal budget
            budget -= len(page.messages)
            if len(page.messages) < PAGE or budget <= 0:
                return None
            return self.api.history_before(self.peer, page.messages[0].id, budget)

        first = self.api.history_before(self.peer, cursor.oldest_id, budget)
        async with aclosing(self._pages(first, following)) as pages:
            async for page, posts in pages:
                if not page.messages:
                    self._save(replace(cursor, history_complete=True))
                    return
                await self._commit(posts)
                cursor = replace(cursor, oldest_id=page.messages[0].id)
                self._save(cursor)

    async def _pages(
        self,
        first: Coroutine[Any, Any, Page],
        following: Callable[[Page], Coroutine[Any, Any, Page] | None],
    ) -> AsyncIterator[tuple[Page, list[Post]]]:
        """Each page with its posts (media hashed), in order, two pages in flight: the next
        page is requested as soon as this one has arrived, not once its media are hashed, so
        the network, the hash workers and the database overlap. The cursor still moves only
        after a commit; whatever is in flight when the walk stops (a flood, a crash) is dropped
        uncommitted."""
        loop = asyncio.get_running_loop()
        request: asyncio.Future[asyncio.Future[Page] | None] = loop.create_future()
        current = asyncio.ensure_future(
            self._prepared(asyncio.ensure_future(first), following, request)
        )
        live: list[asyncio.Future[Any]] = [current]
        try:
            while True:
                await asyncio.wait((request, current), return_when=asyncio.FIRST_COMPLETED)
                if not request.done():
                    await current  # failed before its page arrived: raises
                fetch = request.result()
                if fetch is not None:
                    request = loop.create_future()
                    ahead = asyncio.ensure_future(self._prepared(fetch, following, request))
                    live = [current, fetch, ahead]
                yield await current
                if fetch is None:
                    return
                current, live = ahead, [fetch, ahead]
        finally:
            for task in live:
                task.cancel()
            await asyncio.gather(*live, return_exceptions=True)

    async def _prepared(
        self,
        fetch: asyncio.Future[Page],
        following: Callable[[Page], Coroutine[Any, Any, Page] | None],
        request: asyncio.Future[asyncio.Future[Page] | None],
    ) -> tuple[Page, list[Post]]:
        page = await fetch
        nxt = following(page)
        # The next page is asked for right away, while this one's media are hashed.
        request.set_result(asyncio.ensure_future(nxt) if nxt is not None else None)
        return page, await self._posts(page) if page.messages else []

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
        # A task per message with media only: most of a page is text.
        with_media = [p for p in parsed if p.media]
        hashed = await asyncio.gather(*(self.media.hash_all(p.media, known) for p in with_media))
        media_of = {id(p): media for p, media in zip(with_media, hashed, strict=True)}
        return [replace(p.post, media=media_of[id(p)]) if p.media else p.post for p in parsed]

    async def _commit(self, observations: Sequence[Observation]) -> None:
        if observations:
            self.run.emit(observations)
        if self.run.stopping:
            # A shutdown: this page is committed, the cursor not yet moved past it; the next
            # run reads it again (ingest is idempotent) and goes on from there.
            raise RunStopped("stopped at a page boundary by shutdown")
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
