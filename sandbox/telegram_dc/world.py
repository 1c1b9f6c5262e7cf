"""The data a test puts behind the fake data center: channels, messages, files, errors.

Everything is stored as Telethon TL objects so that what the server serialises is exactly what
the real API would send. A test mutates the world between (or during) client runs; every
mutator takes ``World.lock`` because the server may run on another thread.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from telethon.tl import types

from .errors import ErrorRule

UTC = dt.UTC
# Telegram's own rule for public usernames; anything else answers USERNAME_INVALID.
USERNAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{3,30}[a-zA-Z0-9]$")
# (kind, object id, thumb size): "photo"/"document" and "" for a document's main file.
FileKey = tuple[str, int, str]
Message = types.Message | types.MessageService


@dataclass
class Channel:
    """A channel (or megagroup) and its history; ``messages`` maps id -> TL message."""

    id: int
    access_hash: int
    username: str | None
    title: str
    about: str = ""
    participants_count: int = 0
    verified: bool = False
    scam: bool = False
    fake: bool = False
    restricted: bool = False
    megagroup: bool = False
    linked_chat_id: int | None = None
    date: dt.datetime = field(default_factory=lambda: dt.datetime(2020, 1, 1, tzinfo=UTC))
    # A channel that exists but whose content the account may not see (CHANNEL_PRIVATE).
    private: bool = False
    pts: int = 1
    messages: dict[int, Message] = field(default_factory=dict)

    def tl(self) -> types.Channel:
        return types.Channel(
            id=self.id,
            access_hash=self.access_hash,
            title=self.title,
            username=self.username,
            photo=types.ChatPhotoEmpty(),
            date=self.date,
            broadcast=not self.megagroup,
            megagroup=self.megagroup,
            verified=self.verified,
            scam=self.scam,
            fake=self.fake,
            restricted=self.restricted,
            restriction_reason=(
                [types.RestrictionReason("all", "porn", "Restricted by the fake DC")]
                if self.restricted
                else None
            ),
            has_link=self.linked_chat_id is not None,
            participants_count=self.participants_count,
        )

    def full(self) -> types.ChannelFull:
        return types.ChannelFull(
            id=self.id,
            about=self.about,
            read_inbox_max_id=0,
            read_outbox_max_id=0,
            unread_count=0,
            chat_photo=types.PhotoEmpty(0),
            notify_settings=types.PeerNotifySettings(),
            bot_info=[],
            pts=self.pts,
            participants_count=self.participants_count,
            linked_chat_id=self.linked_chat_id,
        )


@dataclass
class Account:
    """A user who can sign in with ``phone`` + ``code`` (digits only, as Telethon sends them)."""

    id: int
    access_hash: int
    phone: str
    code: str
    first_name: str
    username: str | None = None

    def tl(self, *, is_self: bool) -> types.User:
        return types.User(
            id=self.id,
            is_self=is_self,
            access_hash=self.access_hash,
            first_name=self.first_name,
            username=self.username,
            phone=self.phone,
        )


class World:
    """Channels, accounts, files and scheduled errors that the fake DC serves."""

    def __init__(self, dc_id: int = 2) -> None:
        # The one DC everything lives on. Media must carry the session's DC id too: another
        # id would make Telethon export its authorization to a second DC (no FILE_MIGRATE).
        self.dc_id = dc_id
        self.lock = threading.RLock()
        self.channels: dict[int, Channel] = {}
        self.accounts: dict[str, Account] = {}
        self.files: dict[FileKey, bytes] = {}
        self.error_rules: list[ErrorRule] = []
        self._ids = itertools.count(1_000_001)
        self.me = self.add_account(phone="15550100", code="12345", first_name="Watcher")

    def next_id(self) -> int:
        """A fresh id for channels, photos, documents and access hashes."""
        return next(self._ids)

    # -- accounts and channels ---------------------------------------------------------------

    def add_account(self, *, phone: str, code: str, first_name: str) -> Account:
        with self.lock:
            account = Account(self.next_id(), self.next_id() * 7919, phone, code, first_name)
            self.accounts[phone] = account
            return account

    def add_channel(
        self,
        username: str | None,
        title: str = "",
        *,
        channel_id: int | None = None,
        access_hash: int | None = None,
        about: str = "",
        participants_count: int = 0,
        verified: bool = False,
        scam: bool = False,
        fake: bool = False,
        restricted: bool = False,
        megagroup: bool = False,
        linked_chat_id: int | None = None,
        date: dt.datetime | None = None,
        private: bool = False,
    ) -> Channel:
        """Create a channel; re-using a removed channel's username gives a new id and hash,
        as when a channel is deleted and someone registers the name again."""
        with self.lock:
            channel_id = channel_id or self.next_id()
            channel = Channel(
                id=channel_id,
                access_hash=access_hash or channel_id * 104729,
                username=username,
                title=title or username or f"channel {channel_id}",
                about=about,
                participants_count=participants_count,
                verified=verified,
                scam=scam,
                fake=fake,
                restricted=restricted,
                megagroup=megagroup,
                linked_chat_id=linked_chat_id,
                private=private,
            )
            if date is not None:
                channel.date = date
            self.channels[channel.id] = channel
            return channel

    def remove_channel(self, channel: Channel) -> None:
        with self.lock:
            self.channels.pop(channel.id, None)

    def channel_by_username(self, username: str) -> Channel | None:
        wanted = username.lower()
        for channel in self.channels.values():
            if channel.username and channel.username.lower() == wanted:
                return channel
        return None

    # -- messages ---------------------------------------------------------------------------

    def add_message(
        self,
        channel: Channel,
        msg_id: int,
        text: str = "",
        *,
        date: dt.datetime | None = None,
        views: int | None = 0,
        forwards: int = 0,
        **fields: Any,
    ) -> types.Message:
        """Add a post; ``fields`` are any other ``types.Message`` fields (entities, media,
        fwd_from, reply_to, grouped_id, edit_date, post_author...)."""
        message = types.Message(
            id=msg_id,
            peer_id=types.PeerChannel(channel.id),
            date=date or channel.date + dt.timedelta(minutes=msg_id),
            message=text,
            post=not channel.megagroup,
            # Telegram sends views and forwards together or not at all (one TL flag).
            views=views,
            forwards=None if views is None else forwards,
            **fields,
        )
        self._store(channel, message)
        return message

    def add_service(
        self,
        channel: Channel,
        msg_id: int,
        action: types.TypeMessageAction,
        *,
        date: dt.datetime | None = None,
        **fields: Any,
    ) -> types.MessageService:
        """A service message (pin, title change...); ``fields`` as for ``add_message``."""
        message = types.MessageService(
            id=msg_id,
            peer_id=types.PeerChannel(channel.id),
            date=date or channel.date + dt.timedelta(minutes=msg_id),
            action=action,
            post=not channel.megagroup,
            **fields,
        )
        self._store(channel, message)
        return message

    def _store(self, channel: Channel, message: Message) -> None:
        with self.lock:
            channel.messages[message.id] = message
            channel.pts += 1

    def add_photo(
        self,
        channel: Channel,
        msg_id: int,
        jpeg: bytes,
        caption: str = "",
        *,
        thumb: bytes | None = None,
        size: tuple[int, int] = (1280, 720),
        **fields: Any,
    ) -> types.Message:
        """A photo post; the largest size ('y') serves ``jpeg``, an optional 'm' ``thumb``."""
        with self.lock:
            photo_id = self.next_id()
            sizes: list[types.TypePhotoSize] = []
            if thumb is not None:
                sizes.append(types.PhotoSize("m", 320, 180, len(thumb)))
                self.files[("photo", photo_id, "m")] = thumb
            sizes.append(types.PhotoSize("y", size[0], size[1], len(jpeg)))
            self.files[("photo", photo_id, "y")] = jpeg
            photo = types.Photo(
                id=photo_id,
                access_hash=photo_id * 31,
                file_reference=b"ref-%d" % photo_id,
                date=channel.date,
                sizes=sizes,
                dc_id=self.dc_id,
            )
            media = types.MessageMediaPhoto(photo=photo)
            return self.add_message(channel, msg_id, caption, media=media, **fields)

    def add_document(
        self,
        channel: Channel,
        msg_id: int,
        data: bytes,
        mime_type: str,
        caption: str = "",
        *,
        attributes: list[types.TypeDocumentAttribute] | None = None,
        thumb: bytes | None = None,
        video_thumb: bytes | None = None,
        **fields: Any,
    ) -> types.Message:
        """A document post (video, image file, anything); thumbs are served by size type."""
        with self.lock:
            doc_id = self.next_id()
            self.files[("document", doc_id, "")] = data
            thumbs = None
            if thumb is not None:
                thumbs = [types.PhotoSize("m", 320, 180, len(thumb))]
                self.files[("document", doc_id, "m")] = thumb
            video_thumbs = None
            if video_thumb is not None:
                video_thumbs = [types.VideoSize("u", 320, 180, len(video_thumb))]
                self.files[("document", doc_id, "u")] = video_thumb
            document = types.Document(
                id=doc_id,
                access_hash=doc_id * 37,
                file_reference=b"ref-%d" % doc_id,
                date=channel.date,
                mime_type=mime_type,
                size=len(data),
                dc_id=self.dc_id,
                attributes=attributes or [],
                thumbs=thumbs,
                video_thumbs=video_thumbs,
            )
            is_video = any(isinstance(a, types.DocumentAttributeVideo) for a in document.attributes)
            media = types.MessageMediaDocument(document=document, video=is_video or None)
            return self.add_message(channel, msg_id, caption, media=media, **fields)

    def add_video(
        self, channel: Channel, msg_id: int, data: bytes, *, duration: float = 5.0, **kw: Any
    ) -> types.Message:
        video = types.DocumentAttributeVideo(duration=duration, w=1280, h=720)
        return self.add_document(channel, msg_id, data, "video/mp4", attributes=[video], **kw)

    def edit_message(
        self, channel: Channel, msg_id: int, text: str, edit_date: dt.datetime
    ) -> None:
        with self.lock:
            message = channel.messages[msg_id]
            message.message = text
            message.edit_date = edit_date
            channel.pts += 1

    def delete_message(self, channel: Channel, msg_id: int) -> None:
        with self.lock:
            del channel.messages[msg_id]
            channel.pts += 1

    def set_views(self, channel: Channel, msg_id: int, views: int) -> None:
        with self.lock:
            message = channel.messages[msg_id]
            message.views = views
            message.forwards = message.forwards or 0

    # -- scheduled errors -------------------------------------------------------------------

    def schedule_error(
        self,
        method: str,
        error: str,
        *,
        nth: int = 1,
        times: int = 1,
        channel: Channel | None = None,
        username: str | None = None,
        code: int | None = None,
    ) -> ErrorRule:
        """E.g. ``schedule_error("messages.getHistory", "FLOOD_WAIT_60", nth=3, channel=ch)``:
        the third getHistory on ``ch`` fails. ``code`` defaults to Telegram's for the error."""
        with self.lock:
            rule = ErrorRule(
                method, error, nth, times, channel.id if channel else None, username, code
            )
            self.error_rules.append(rule)
            return rule

    def scheduled_error(
        self, method: str, channel_id: int | None, username: str | None
    ) -> ErrorRule | None:
        """Count this call against every matching rule; return the first that fires."""
        fired = None
        with self.lock:
            for rule in self.error_rules:
                if rule.method != method:
                    continue
                if rule.channel_id is not None and rule.channel_id != channel_id:
                    continue
                if rule.username is not None and (username or "").lower() != rule.username.lower():
                    continue
                rule.seen += 1
                if fired is None and rule.nth <= rule.seen < rule.nth + rule.times:
                    fired = rule
        return fired
