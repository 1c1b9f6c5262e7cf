"""The matchers every ingest batch runs, and how their alerts are raised and queued.

``build_matchers`` returns one matcher that, inside the batch's transaction, reads what the
batch touched with a handful of set-based queries, runs each pure stage (keywords, hash banks,
discovery, source changes, activity, page changes), raises every candidate in one upsert and
queues notifications for the new alerts. Banks and rules are cached per process (``caches``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from crawler.ingest import IngestResult, Matcher, SourceChange
from crawler.matching import notify
from crawler.matching.activity import Rate, newest_posts, page_change_candidates, spike_candidate
from crawler.matching.alerts import Candidate
from crawler.matching.caches import BankCache, RuleCache
from crawler.matching.content_matchers import (
    hash_candidates,
    keyword_candidates,
    profile_keyword_candidates,
)
from crawler.matching.discovery import (
    LINK_KINDS,
    discovery_candidates,
    locator_of,
    ref_rows,
    references,
)
from crawler.matching.source_changes import source_change_candidates
from crawler.settings import Settings
from storage import alert_store
from storage import match_queries as q

HOUR_S = 3600.0


class AlertPipeline:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.banks = BankCache()
        self.rules = RuleCache()

    def __call__(self, conn: Connection, result: IngestResult) -> None:
        now = datetime.now(UTC)
        touched = [*result.new_item_ids, *result.changed_item_ids]
        if not touched and not result.source_changes:
            return
        items = q.batch_items(conn, touched)
        watched = q.watched_sources(conn, result.source_ids)
        candidates: list[Candidate] = []
        candidates += self._content(conn, items, result.source_changes)
        watched_items = [item for item in items if item.source_id in watched]
        candidates += self._discovery(conn, watched_items, now)
        candidates += self._source_changes(conn, result, watched)
        new_ids = set(result.new_item_ids)
        candidates += self._spikes(conn, [i for i in items if i.id in new_ids], watched)
        changed = set(result.changed_item_ids)
        pages = [i for i in items if i.id in changed and i.platform == "web"]
        if pages:
            opted = q.opted_in_pages(conn, {i.platform_id for i in pages})
            candidates += page_change_candidates(pages, opted)
        raise_and_queue(conn, candidates, self.settings, now)

    def _content(
        self, conn: Connection, items: list[q.BatchItem], changes: list[SourceChange]
    ) -> list[Candidate]:
        found: list[Candidate] = []
        matcher = self.rules.current(conn)
        if matcher is not None:
            found += keyword_candidates(matcher, items)
            found += profile_keyword_candidates(matcher, changes)
        media = q.batch_media(conn, [item.id for item in items]) if items else []
        if media:
            # Loaded on the first batch with media: a text-only collector never pays for it.
            index = self.banks.current(conn)
            by_id = {item.id: item for item in items}
            found += hash_candidates(
                index, media, by_id, dihedral=self.settings.alerts.pdq_dihedral
            )
        return found

    def _discovery(
        self, conn: Connection, items: list[q.BatchItem], now: datetime
    ) -> list[Candidate]:
        if not items:
            return []
        links = q.batch_links(conn, [item.id for item in items], LINK_KINDS)
        refs = references(items, links)
        channels = {ref.channel for ref in refs}
        if not channels:
            return []
        locators = {c: locator_of(c) for c in channels}
        on_lists = q.watched_locators(conn, {loc for loc in locators.values() if loc})
        ids = {c[3:] for c in channels if c.startswith("id:")}
        watched_ids = q.watched_channel_ids(conn, ids)
        unwatched = {
            c for c in channels if locators[c] not in on_lists and c[3:] not in watched_ids
        }
        refs = [ref for ref in refs if ref.channel in unwatched]
        q.add_discovery_refs(conn, ref_rows(refs, now))
        counts = q.discovery_counts(conn, unwatched)
        minimum = self.settings.alerts.discovery_min_refs
        # The batch's own referencing items are the evidence sample: no query, and the latest.
        samples: dict[str, list[int]] = {}
        for ref in refs:
            samples.setdefault(ref.channel, []).append(ref.item_id)
        return discovery_candidates(counts, samples, minimum)

    def _source_changes(
        self, conn: Connection, result: IngestResult, watched: set[int]
    ) -> list[Candidate]:
        if not result.source_changes:
            return []
        firsts = {c.source_id for c in result.source_changes if c.change == "first"}
        reused = q.usernames_held_before(conn, firsts)
        return source_change_candidates(result.source_changes, watched, reused, {})

    def _spikes(
        self, conn: Connection, new_items: list[q.BatchItem], watched: set[int]
    ) -> list[Candidate]:
        alerts = self.settings.alerts
        found = []
        # One query per source with new posts (a batch is one channel's page, so usually one).
        for source_id, end in newest_posts(new_items, watched).items():
            recent, baseline, earliest = q.hourly_counts(
                conn, source_id, end, HOUR_S, alerts.spike_baseline_hours * HOUR_S
            )
            candidate = spike_candidate(
                Rate(source_id, end, recent, baseline, earliest),
                factor=alerts.spike_factor, baseline_hours=alerts.spike_baseline_hours,
                min_posts=alerts.spike_min_posts, reach=None,
            )  # fmt: skip
            if candidate is not None:
                found.append(candidate)
        return found


def raise_and_queue(
    conn: Connection, candidates: list[Candidate], settings: Settings, now: datetime
) -> list[alert_store.NewAlert]:
    new = alert_store.raise_alerts(conn, candidates, now)
    if new and notify.destinations(settings.notify):
        evidence = {c.dedupe_key: c.evidence for c in candidates}
        by_id = {a.id: evidence[a.dedupe_key] for a in new}
        notify.enqueue(conn, new, settings.notify, by_id, now)
    return new


def build_matchers(engine: Engine, settings: Settings) -> list[Matcher]:
    """The matchers for every ingest path in this process (see crawler.crawl.default_matchers)."""
    return [AlertPipeline(settings)]
