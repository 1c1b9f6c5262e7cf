"""Discovery: channels on no watchlist that watched items keep pointing to.

Rooms are re-created and advertised through forwards, t.me links, @mentions, invite links and
folder links; a channel that N distinct watched items reference is worth a reviewer's look.
One alert per discovered channel; its counts are refreshed as references accumulate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crawler.matching.alerts import Candidate, Kind, discovery_key
from storage.match_queries import BatchItem

LINK_KINDS = ("channel", "mention", "invite")
MAX_SAMPLES = 10


@dataclass(frozen=True, slots=True)
class Reference:
    channel: str
    """`@username`, `id:<channel id>` (a forward without a public name), `+<invite hash>` or
    `addlist/<slug>` (a folder link)."""
    item_id: int
    via: str
    """forward | channel | mention | invite | folder | bot"""


def references(items: Iterable[BatchItem], links: Iterable[Any]) -> list[Reference]:
    """Every reference a batch's items make to a channel other than their own."""
    by_id = {item.id: item for item in items}
    found: list[Reference] = []
    for item in by_id.values():
        if item.fwd_username:
            found.append(Reference(f"@{item.fwd_username.lower()}", item.id, "forward"))
        elif item.fwd_source_id:
            found.append(Reference(f"id:{item.fwd_source_id}", item.id, "forward"))
    for link in links:
        if link.item_id not in by_id:
            continue
        if link.kind == "invite":
            folder = link.target.startswith("addlist/")
            channel = link.target if folder else f"+{link.target}"
            found.append(Reference(channel, link.item_id, "folder" if folder else "invite"))
        else:
            name = link.target.lower().lstrip("@")
            via = "bot" if name.endswith("bot") else link.kind
            found.append(Reference(f"@{name}", link.item_id, via))
    return [ref for ref in found if not _own(ref, by_id[ref.item_id])]


def _own(ref: Reference, item: BatchItem) -> bool:
    if item.username and ref.channel == f"@{item.username.lower()}":
        return True
    return ref.channel == f"id:{item.source_platform_id}"


def locator_of(channel: str) -> str | None:
    """The watchlist locator that would watch this channel (None for a bare channel id)."""
    if channel.startswith("@"):
        return channel
    if channel.startswith("+"):
        return f"https://t.me/{channel}"
    if channel.startswith("addlist/"):
        return f"https://t.me/{channel}"
    return None


def ref_rows(refs: Sequence[Reference], at: datetime) -> list[dict[str, Any]]:
    unique = {(r.channel, r.item_id): r for r in refs}
    return [
        {"channel": r.channel, "item_id": r.item_id, "via": r.via, "at": at}
        for r in unique.values()
    ]


def discovery_candidates(
    counts: dict[str, dict[str, int]], samples: dict[str, list[int]], min_refs: int
) -> list[Candidate]:
    candidates = []
    for channel, by_via in sorted(counts.items()):
        total = sum(by_via.values())
        if total < min_refs:
            continue
        candidates.append(
            Candidate(
                kind=Kind.DISCOVERY,
                severity="medium",
                dedupe_key=discovery_key(channel),
                evidence={
                    "channel": channel,
                    "items": total,
                    "via": dict(sorted(by_via.items())),
                    "recent_item_ids": sorted(set(samples.get(channel, ())))[-MAX_SAMPLES:],
                },
                confidence=min(1.0, total / (2 * min_refs)),
                reach=total,
                refresh_evidence=True,
            )
        )
    return candidates
