"""SQLAlchemy models of the data model in DESIGN.md; importing this registers every table."""

from storage.models.base import Base
from storage.models.content import (
    Item,
    ItemVersion,
    Link,
    Media,
    SearchQueue,
    Source,
    SourceSnapshot,
)
from storage.models.matching import (
    Alert,
    AlertEvent,
    BankEntry,
    DiscoveryRef,
    HashBank,
    MatchingVersion,
    NotifyOutbox,
    Rule,
)
from storage.models.operations import (
    AuditLog,
    CrawlRun,
    TelegramAccount,
    TelegramPeer,
    User,
)
from storage.models.spiders import SpiderState
from storage.models.watchlists import Target, Watchlist

__all__ = [
    "Alert",
    "AlertEvent",
    "AuditLog",
    "BankEntry",
    "Base",
    "CrawlRun",
    "DiscoveryRef",
    "HashBank",
    "Item",
    "ItemVersion",
    "Link",
    "MatchingVersion",
    "Media",
    "NotifyOutbox",
    "Rule",
    "SearchQueue",
    "Source",
    "SourceSnapshot",
    "SpiderState",
    "Target",
    "TelegramAccount",
    "TelegramPeer",
    "User",
    "Watchlist",
]
