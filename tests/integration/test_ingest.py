"""Ingest on SQLite and PostgreSQL: idempotence, versions, counters, deletions, identity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from crawler.ingest import IngestResult, ingest
from crawler.observations import (
    ChannelSnapshot,
    CollectorKind,
    Counter,
    ForwardRef,
    ItemGone,
    LinkKind,
    PageSnapshot,
    Platform,
    SourceAvailability,
    SourceKey,
)
from storage import run_store
from storage.item_queries import ItemFilter, find_items
from storage.models import CrawlRun, Item, ItemVersion, Link, Media, Source, SourceSnapshot
from tests.factories import CHANNEL, T0, link, photo, post


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def _items(engine: Engine) -> dict[int, dict]:
    with engine.connect() as conn:
        return {r["platform_id"]: r for r in find_items(conn, ItemFilter(limit=1000))}


def test_reingesting_the_same_batch_changes_nothing(engine: Engine) -> None:
    batch = [
        post(1, "첫 글", links=(link("https://example.org/a"),), media=(photo(),)),
        post(2, "second", links=(link("https://t.me/other_room", LinkKind.CHANNEL, "other_room"),)),
    ]
    first = ingest(engine, batch)
    before = _items(engine)
    second = ingest(engine, batch)

    assert sorted(first.new_item_ids) == sorted(r["id"] for r in before.values())
    assert second.new_item_ids == [] and second.changed_item_ids == []
    assert _items(engine) == before
    assert _count(engine, ItemVersion) == 0  # version 1 lives in the item row until an edit
    assert _count(engine, Link) == 2
    assert _count(engine, Media) == 1


def test_first_sighting_is_version_one_and_an_edit_adds_a_version(engine: Engine) -> None:
    ingest(engine, [post(7, "원래 글")])
    result = ingest(engine, [post(7, "고친 글", edited_at=T0 + timedelta(hours=2))])

    item = _items(engine)[7]
    assert result.changed_item_ids == [item["id"]]
    assert item["versions"] == 2
    assert item["text"] == "고친 글"
    assert item["edited"] is True
    assert item["edited_at"] == "2024-08-26T14:00:00Z"


def test_returning_to_an_earlier_text_is_a_new_version(engine: Engine) -> None:
    ingest(engine, [post(3, "A", media=(photo("aa" * 32),))])
    for text in ("B", "A"):
        ingest(engine, [post(3, text)])
    assert _items(engine)[3]["versions"] == 3
    with engine.connect() as conn:
        versions = conn.execute(
            select(ItemVersion.version_no, ItemVersion.text, ItemVersion.media_hashes)
            .order_by(ItemVersion.version_no)
        ).all()
    assert [(v.version_no, v.text) for v in versions] == [(1, "A"), (2, "B"), (3, "A")]
    assert versions[0].media_hashes == ["aa" * 32] and versions[1].media_hashes == []


def test_whitespace_and_nfc_differences_are_not_edits(engine: Engine) -> None:
    decomposed = "\u1100\u1161 text"  # 가 written as two jamo: NFC makes it one syllable
    ingest(engine, [post(4, "가  text\n")])
    result = ingest(engine, [post(4, decomposed)])
    assert result.changed_item_ids == []
    assert _items(engine)[4]["versions"] == 1


def test_a_changed_media_set_is_a_new_version(engine: Engine) -> None:
    ingest(engine, [post(5, "same", media=(photo("aa" * 32),))])
    result = ingest(engine, [post(5, "same", media=(photo("bb" * 32),))])
    assert len(result.changed_item_ids) == 1
    assert _items(engine)[5]["media"][0]["sha256"] == "bb" * 32


def test_counters_update_in_place_and_rounded_never_overwrites_exact(engine: Engine) -> None:
    ingest(engine, [post(9, "x", views=Counter(12_345), forwards=Counter(10))])
    ingest(engine, [post(9, "x", views=Counter(13_000), forwards=Counter(11))])
    preview = post(
        9, "x", collector=CollectorKind.TME_PREVIEW,
        views=Counter(13_500, raw="13.5K", exact=False), forwards=None,
    )  # fmt: skip
    ingest(engine, [preview])

    item = _items(engine)[9]
    assert item["versions"] == 1
    assert item["views"] == 13_000
    assert item["views_raw"] is None
    assert item["forwards"] == 11


def test_rounded_counts_fill_in_where_no_exact_count_exists(engine: Engine) -> None:
    ingest(engine, [post(10, "x", collector=CollectorKind.TME_PREVIEW,
                         views=Counter(1_200_000, raw="1.2M", exact=False))])  # fmt: skip
    item = _items(engine)[10]
    assert (item["views"], item["views_raw"]) == (1_200_000, "1.2M")
    ingest(engine, [post(10, "x", views=Counter(1_234_567))])
    assert _items(engine)[10]["views"] == 1_234_567


def test_versions_compare_sightings_of_the_same_collector_kind_only(engine: Engine) -> None:
    ingest(engine, [post(11, "API text", media=(photo("aa" * 32),))])
    rendered = post(
        11, "API text (as rendered)", collector=CollectorKind.TME_PREVIEW,
        media=(photo("cc" * 32),), views=Counter(100, raw="100", exact=False),
    )  # fmt: skip
    first_preview = ingest(engine, [rendered])
    again = ingest(engine, [rendered])

    assert first_preview.changed_item_ids == [] and again.changed_item_ids == []
    item = _items(engine)[11]
    assert item["versions"] == 1
    assert item["text"] == "API text"
    assert item["media"][0]["sha256"] == "aa" * 32

    edited = post(11, "API text, edited", collector=CollectorKind.TME_PREVIEW, edited=True)
    assert len(ingest(engine, [edited]).changed_item_ids) == 1
    assert _items(engine)[11]["versions"] == 2


def test_gone_observation_sets_deleted_at_once(engine: Engine) -> None:
    ingest(engine, [post(12, "soon gone")])
    gone = ItemGone(CHANNEL, "12", T0 + timedelta(days=1))
    assert ingest(engine, [gone]).gone == 1
    assert ingest(engine, [ItemGone(CHANNEL, "12", T0 + timedelta(days=2))]).gone == 0
    assert _items(engine)[12]["deleted_at"] == "2024-08-27T12:00:00Z"


def test_a_channel_is_its_numeric_id_and_a_rename_is_recorded(engine: Engine) -> None:
    renamed = SourceKey(Platform.TELEGRAM, platform_id=CHANNEL.platform_id, username="new_name")
    ingest(engine, [ChannelSnapshot(CHANNEL, T0, username="example_news", title="News")])
    result = ingest(
        engine,
        [ChannelSnapshot(renamed, T0 + timedelta(hours=1), username="new_name", title="News 2")],
    )

    assert {c.change for c in result.source_changes} == {"username", "title"}
    assert _count(engine, Source) == 1
    with Session(engine) as session:
        source = session.scalars(select(Source)).one()
        history = session.execute(
            select(SourceSnapshot.username, SourceSnapshot.change).order_by(SourceSnapshot.id)
        ).all()
    assert (source.username, source.title) == ("new_name", "News 2")
    assert history == [("example_news", "first"), ("new_name", "username,title")]


def test_preview_source_known_by_username_is_adopted_when_its_id_appears(engine: Engine) -> None:
    by_name = SourceKey(Platform.TELEGRAM, username="example_news")
    ingest(engine, [post(1, "seen on the preview", source=by_name,
                         collector=CollectorKind.TME_PREVIEW)])  # fmt: skip
    ingest(engine, [post(2, "seen by the API")])

    assert _count(engine, Source) == 1
    assert {r["source"] for r in _items(engine).values()} == {"@example_news"}


def test_takedown_and_return_are_availability_changes(engine: Engine) -> None:
    ingest(engine, [post(1, "x")])
    down = ingest(engine, [SourceAvailability(CHANNEL, T0, False, "CHANNEL_PRIVATE")])
    again = ingest(engine, [SourceAvailability(CHANNEL, T0, False, "CHANNEL_PRIVATE")])
    back = ingest(engine, [SourceAvailability(CHANNEL, T0 + timedelta(days=1), True)])

    assert [c.change for c in down.source_changes] == ["unavailable"]
    assert again.source_changes == []
    assert [c.change for c in back.source_changes] == ["available"]


def test_forward_reply_album_and_links_reach_the_query_contract(engine: Engine) -> None:
    forwarded = post(
        20, "fwd", reply_to=19, grouped_id=20,
        fwd_from=ForwardRef(source_id="555", username="origin_room", platform_id=77,
                            date=T0, name="Origin"),
        links=(link("https://t.me/+AbCdEf", LinkKind.INVITE, "AbCdEf"),
               link("https://t.me/s/x?q=%23tag", LinkKind.HASHTAG, "#tag")),
    )  # fmt: skip
    ingest(engine, [forwarded])
    item = _items(engine)[20]
    assert item["fwd_from"] == {
        "source": "@origin_room", "source_id": "555", "platform_id": 77,
        "date": "2024-08-26T12:00:00Z", "name": "Origin",
    }  # fmt: skip
    assert (item["reply_to"], item["grouped_id"]) == (19, 20)
    assert [lnk["kind"] for lnk in item["links"]] == ["invite", "hashtag"]
    assert item["links"][1]["target"] == "#tag"


def test_web_pages_are_items_of_their_site_and_change_by_text(engine: Engine) -> None:
    site = SourceKey(Platform.WEB, platform_id="example.org")
    page = "https://example.org/rooms"
    ingest(engine, [PageSnapshot(site, page, T0, title="Rooms", text="room list", etag='"1"')])
    unchanged = ingest(engine, [PageSnapshot(site, page, T0, title="Rooms", text="room  list")])
    changed = ingest(engine, [PageSnapshot(site, page, T0, title="Rooms", text="new rooms")])

    assert unchanged.changed_item_ids == [] and len(changed.changed_item_ids) == 1
    item = _items(engine)[page]
    assert (item["source"], item["url"], item["versions"]) == ("example.org", page, 2)


def test_batch_counts_are_recorded_against_the_crawl_run(engine: Engine) -> None:
    with engine.begin() as conn:
        run_id = run_store.start_run(
            conn, target_id=None, collector="telegram_api", account=None, at=T0
        )
    ingest(engine, [post(1, "a", media=(photo(),)), post(2, "b")], crawl_run_id=run_id)
    ingest(engine, [post(2, "b2"), ItemGone(CHANNEL, "1", T0)], crawl_run_id=run_id)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun)).one()
    assert (run.batches, run.observations) == (2, 4)
    assert (run.items_new, run.items_updated, run.items_gone, run.media_hashed) == (2, 1, 1, 1)


def test_matchers_see_what_changed_inside_the_batch_transaction(engine: Engine) -> None:
    seen: list[tuple[list[int], list[int]]] = []

    def matcher(conn: object, result: IngestResult) -> None:
        seen.append((list(result.new_item_ids), list(result.changed_item_ids)))

    ingest(engine, [post(1, "a")], matchers=[matcher])
    ingest(engine, [post(1, "a")], matchers=[matcher])
    ingest(engine, [post(1, "b")], matchers=[matcher])
    assert [(len(new), len(changed)) for new, changed in seen] == [(1, 0), (0, 0), (0, 1)]


def test_a_failing_batch_writes_nothing(engine: Engine) -> None:
    def broken(conn: object, result: IngestResult) -> None:
        raise RuntimeError("matcher crashed")

    with pytest.raises(RuntimeError, match="matcher crashed"):
        ingest(engine, [post(1, "a")], matchers=[broken])
    assert _count(engine, Item) == 0 and _count(engine, Source) == 0


def test_a_version_with_fewer_media_keeps_only_its_own(engine: Engine) -> None:
    ingest(engine, [post(13, "album", media=(photo("aa" * 32), photo("bb" * 32, ordinal=1)))])
    ingest(engine, [post(13, "album", media=(photo("cc" * 32),))])
    assert [m["sha256"] for m in _items(engine)[13]["media"]] == ["cc" * 32]
