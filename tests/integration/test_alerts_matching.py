"""Matchers inside ingest, on SQLite and PostgreSQL: each alert kind, dedupe, bank changes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from crawler.crawl import crawl_once
from crawler.hashing.images import hamming_distance
from crawler.hashing.media import hash_media_bytes
from crawler.matching.operational import check_targets
from crawler.observations import (
    ChannelSnapshot,
    CollectorKind,
    Counter,
    ForwardRef,
    LinkKind,
    PageSnapshot,
    Platform,
    SourceAvailability,
    SourceKey,
)
from crawler.settings import AlertSettings, Settings
from storage import bank_store, watchlist_store
from tests.factories import CHANNEL, GOLDEN, T0, link, photo, post
from tests.integration.alert_helpers import NOW, Pipeline, alerts, load_bank, load_rules, watch

RULES = """
rules:
  - name: acquaintance-rooms
    severity: critical
    terms: [지인능욕]
    allowlist: [지인능욕 피해 신고]
"""
PDQ = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"


def _flip(hex_value: str, bits: int) -> str:
    value = int(hex_value, 16) ^ ((1 << bits) - 1)
    return f"{value:064x}"


def _media(pdq: str = PDQ, quality: int = 100, sha: str = "ab" * 32):
    return replace(photo(sha), pdq=pdq, pdq_quality=quality)


@pytest.mark.parametrize(
    "collector", [CollectorKind.TELEGRAM_API, CollectorKind.TME_PREVIEW, CollectorKind.WEB_PAGE]
)
def test_a_post_from_each_collector_raises_one_keyword_alert(
    engine: Engine, collector: CollectorKind
) -> None:
    load_rules(engine, RULES)
    pipeline = Pipeline(engine)
    if collector is CollectorKind.WEB_PAGE:
        source = SourceKey(Platform.WEB, platform_id="example.org")
        batch = [PageSnapshot(source, "https://example.org/hub", T0, text="오늘 지 인 능 욕 방")]
    else:
        batch = [post(1, "오늘 지 인 능 욕 방 링크", collector=collector)]

    pipeline.ingest(batch)
    pipeline.ingest(batch)

    found = alerts(engine)
    assert [(a["kind"], a["severity"], a["hit_count"]) for a in found] == [
        ("keyword", "critical", 1)
    ]
    hit = found[0]["evidence"]["hits"][0]
    assert (hit["term"], hit["form"], hit["matched_text"]) == (
        "지인능욕",
        "separated",
        "지 인 능 욕",
    )


def test_an_edit_that_still_matches_bumps_the_same_alert(engine: Engine) -> None:
    load_rules(engine, RULES)
    pipeline = Pipeline(engine)
    pipeline.ingest([post(1, "지인능욕")])
    pipeline.ingest([post(1, "ㅈㅣㅇㅣㄴ능욕 다시", edited_at=T0 + timedelta(hours=3))])

    (alert,) = alerts(engine)
    assert alert["hit_count"] == 2
    assert alert["evidence"]["hits"][0]["form"] == "jamo"


def test_allowlisted_context_raises_nothing(engine: Engine) -> None:
    load_rules(engine, RULES)
    Pipeline(engine).ingest([post(1, "지인능욕 피해 신고 방법 안내")])
    assert alerts(engine) == []


def test_rules_imported_after_the_process_started_apply_to_the_next_batch(engine: Engine) -> None:
    pipeline = Pipeline(engine)
    pipeline.ingest([post(1, "지인능욕")])
    load_rules(engine, RULES)
    pipeline.ingest([post(2, "지인능욕")])
    assert [a["subject"]["platform_id"] for a in alerts(engine)] == ["2"]


def test_exact_and_near_pdq_matches_carry_bank_label_distance_and_quality(engine: Engine) -> None:
    load_bank(engine, f"sha256,{'ab' * 32},exact-label\npdq,{PDQ.upper()},pdq-label\n")
    Pipeline(engine).ingest(
        [
            post(1, media=(_media(sha="ab" * 32),)),
            post(2, media=(_media(_flip(PDQ, 12), 80, "cd" * 32),)),
        ]
    )
    found = {a["subject"]["platform_id"]: a for a in alerts(engine, kind="hash_match")}
    exact = [a for a in alerts(engine) if a["evidence"]["signal_type"] == "sha256"]
    assert exact[0]["evidence"]["label"] == "exact-label"
    near = found["2"]["evidence"]
    assert (near["bank"], near["label"], near["distance"], near["quality"]) == (
        "known", "pdq-label", 12, 80,
    )  # fmt: skip
    # Exact outranks a PDQ match of the same severity and reach.
    assert exact[0]["priority"] > found["2"]["priority"]


@pytest.mark.parametrize("dihedral", [True, False])
def test_a_mirrored_copy_of_a_banked_picture_matches_through_its_stored_flips(
    engine: Engine, dihedral: bool
) -> None:
    banked = hash_media_bytes(
        (GOLDEN / "dihedral" / "bridge-1-original.jpg").read_bytes(), kind="photo", mime=None,
        max_bytes=1 << 25,
    )  # fmt: skip
    load_bank(engine, f"pdq,{banked.pdq},bridge\n")
    mirrored = hash_media_bytes(
        (GOLDEN / "dihedral" / "bridge-5-flipx.jpg").read_bytes(), kind="photo", mime=None,
        max_bytes=1 << 25,
    )  # fmt: skip
    assert hamming_distance(mirrored.pdq, banked.pdq) > 31  # plainly, no match
    settings = Settings(alerts=AlertSettings(pdq_dihedral=dihedral))
    Pipeline(engine, settings).ingest([post(1, media=(mirrored,))])

    found = alerts(engine, kind="hash_match")
    if not dihedral:
        assert found == []
        return
    (alert,) = found
    evidence = alert["evidence"]
    assert (evidence["label"], evidence["orientation"]) == ("bridge", "flip_x")
    assert evidence["distance"] <= 31


def test_pdq_beyond_the_bank_threshold_or_of_low_quality_never_matches(engine: Engine) -> None:
    load_bank(engine, f"pdq,{PDQ}\n", threshold=10)
    Pipeline(engine).ingest(
        [post(1, media=(_media(_flip(PDQ, 11), sha="01" * 32),)),
         post(2, media=(_media(PDQ, 49, "02" * 32),))]
    )  # fmt: skip
    assert alerts(engine) == []


def test_a_negative_bank_suppresses_a_known_false_positive(engine: Engine) -> None:
    load_bank(engine, f"pdq,{PDQ}\n")
    load_bank(engine, f"pdq,{_flip(PDQ, 3)}\n", bank="benign", negative=True, threshold=5)
    Pipeline(engine).ingest([post(1, media=(_media(_flip(PDQ, 4)),))])
    assert alerts(engine) == []


def test_withdrawn_and_disabled_entries_stop_matching_without_a_restart(engine: Engine) -> None:
    load_bank(engine, f"pdq,{PDQ},victim-1\n")
    pipeline = Pipeline(engine)
    pipeline.ingest([post(1, media=(_media(sha="01" * 32),))])
    load_bank(engine, f'{{"signal_type": "pdq", "signal_value": "{PDQ}", "status": "withdrawn"}}\n')
    pipeline.ingest([post(2, media=(_media(sha="02" * 32),))])
    load_bank(engine, f"md5,{'03' * 16}\n", bank="other")
    with engine.begin() as conn:
        bank_store.set_bank_enabled(conn, "other", False)
    pipeline.ingest([post(3, media=(replace(_media(sha="03" * 32), md5="03" * 16),))])
    assert [a["subject"]["platform_id"] for a in alerts(engine)] == ["1"]


def test_a_channel_referenced_by_enough_watched_items_is_discovered_once(engine: Engine) -> None:
    watch(engine, "@example_news")
    watch(engine, "@already_watched")
    settings = Settings(alerts=AlertSettings(discovery_min_refs=3))
    pipeline = Pipeline(engine, settings)
    pipeline.ingest(
        [
            post(1, links=(link("https://t.me/new_room", LinkKind.CHANNEL, "new_room"),)),
            post(2, fwd_from=ForwardRef(username="New_Room")),
            post(
                3,
                links=(link("https://t.me/already_watched", LinkKind.CHANNEL, "already_watched"),),
            ),
        ]
    )
    assert alerts(engine) == []
    pipeline.ingest(
        [
            post(
                4,
                text="@new_room",
                links=(link("https://t.me/new_room", LinkKind.MENTION, "new_room"),),
            )
        ]
    )
    pipeline.ingest([post(5, links=(link("https://t.me/new_room", LinkKind.CHANNEL, "new_room"),))])

    (found,) = alerts(engine, kind="discovery")
    assert found["evidence"]["channel"] == "@new_room"
    assert found["evidence"]["items"] == 4
    assert found["evidence"]["via"] == {"channel": 2, "forward": 1, "mention": 1}
    assert found["hit_count"] == 2


def test_invite_and_folder_links_from_unwatched_channels_do_not_count(engine: Engine) -> None:
    settings = Settings(alerts=AlertSettings(discovery_min_refs=1))
    pipeline = Pipeline(engine, settings)
    pipeline.ingest([post(1, links=(link("https://t.me/+AbCdEf12", LinkKind.INVITE, "AbCdEf12"),))])
    assert alerts(engine) == []
    watch(engine, "@example_news")
    pipeline.ingest(
        [post(2, links=(link("https://t.me/+AbCdEf12", LinkKind.INVITE, "AbCdEf12"),
                        link("https://t.me/addlist/Fold3r", LinkKind.INVITE, "addlist/Fold3r")))]
    )  # fmt: skip
    assert sorted(a["evidence"]["channel"] for a in alerts(engine)) == [
        "+AbCdEf12",
        "addlist/Fold3r",
    ]


def test_watched_channel_rename_takedown_and_return(engine: Engine) -> None:
    watch(engine, "@example_news")
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="방 1")])
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="방 2")])
    pipeline.ingest([SourceAvailability(CHANNEL, T0, available=False, reason="CHANNEL_PRIVATE")])
    pipeline.ingest([SourceAvailability(CHANNEL, T0, available=True)])
    pipeline.ingest([SourceAvailability(CHANNEL, T0, available=False, reason="CHANNEL_PRIVATE")])

    found = {a["evidence"]["change"]: a for a in alerts(engine, kind="source_change")}
    assert set(found) == {"title", "unavailable", "available"}
    assert (found["title"]["evidence"]["before"], found["title"]["evidence"]["after"]) == (
        "방 1",
        "방 2",
    )
    assert found["unavailable"]["hit_count"] == 2


def test_a_username_now_naming_a_different_channel_is_reported(engine: Engine) -> None:
    watch(engine, "@example_news")
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="old")])
    pipeline.ingest([SourceAvailability(CHANNEL, T0, available=False)])
    reborn = SourceKey(Platform.TELEGRAM, platform_id="999", username="example_news")
    pipeline.ingest([ChannelSnapshot(reborn, T0, username="example_news", title="new")])

    (found,) = [a for a in alerts(engine) if a["evidence"]["change"] == "username_reused"]
    assert found["severity"] == "high"


def test_posts_far_above_the_baseline_rate_raise_a_spike(engine: Engine) -> None:
    watch(engine, "@example_news")
    settings = Settings(
        alerts=AlertSettings(spike_factor=5, spike_baseline_hours=24, spike_min_posts=10)
    )
    pipeline = Pipeline(engine, settings)
    history = [post(i, posted_at=T0 - timedelta(hours=30 - i)) for i in range(1, 31)]
    pipeline.ingest(history)
    assert alerts(engine) == []
    burst = [post(100 + i, posted_at=T0 + timedelta(minutes=2 * i)) for i in range(12)]
    pipeline.ingest(burst)

    (spike,) = alerts(engine, kind="activity_spike")
    assert spike["evidence"]["posts_last_hour"] >= 12


def test_only_opted_in_pages_raise_page_change(engine: Engine) -> None:
    watch(engine, "https://example.org/hub", kind="web_page", alert_on_change=True)
    watch(engine, "https://example.org/other", kind="web_page")
    pipeline = Pipeline(engine)
    source = SourceKey(Platform.WEB, platform_id="example.org")
    for text in ("first", "second"):
        pipeline.ingest(
            [PageSnapshot(source, url, T0, text=text)
             for url in ("https://example.org/hub", "https://example.org/other")]
        )  # fmt: skip
    (change,) = alerts(engine, kind="page_change")
    assert change["evidence"] == {"url": "https://example.org/hub", "version": 2}


def test_reach_raises_priority(engine: Engine) -> None:
    load_rules(engine, RULES)
    Pipeline(engine).ingest(
        [post(1, "지인능욕", views=Counter(5)), post(2, "지인능욕", views=Counter(500_000))]
    )
    by_item = {a["subject"]["platform_id"]: a["priority"] for a in alerts(engine)}
    assert by_item["2"] > by_item["1"]


def test_targets_without_success_or_with_a_stale_parser_raise_operational_alerts(
    engine: Engine,
) -> None:
    watch(engine, "@example_news")  # interval 1 h, added at NOW
    watch(engine, "@preview_room", kind="tme_preview")
    with engine.begin() as conn:
        (preview,) = [t for t in watchlist_store.list_targets(conn) if t.kind == "tme_preview"]
        watchlist_store.record_crawl(
            conn, preview.kind, preview.locator, status="parser_stale", failed=True,
            succeeded=False, error="no posts parsed", at=NOW, next_due_at=NOW,
        )  # fmt: skip
    settings = Settings(alerts=AlertSettings(stale_factor=3))

    assert check_targets(engine, settings, NOW + timedelta(hours=2)) == 1
    assert check_targets(engine, settings, NOW + timedelta(hours=4)) == 2
    check_targets(engine, settings, NOW + timedelta(hours=5))

    found = sorted((a["evidence"]["problem"], a["evidence"]["locator"], a["hit_count"])
                   for a in alerts(engine, kind="operational"))  # fmt: skip
    assert found == [
        ("parser_stale", "@preview_room", 3),
        ("stale", "@example_news", 2),
        ("stale", "@preview_room", 2),
    ]


def test_a_target_never_collected_for_want_of_an_account_goes_stale(engine: Engine) -> None:
    watch(engine, "@example_news")  # added long before this crawl, interval 1 h
    settings = Settings(alerts=AlertSettings(stale_factor=3))
    [result] = asyncio.run(crawl_once(engine, settings, locator="@example_news"))
    # Not a failure of the run (exit code 0), but not a successful collection either.
    assert result.outcome.status == "no_account" and not result.outcome.failed

    (alert,) = alerts(engine, kind="operational")
    evidence = alert["evidence"]
    assert (evidence["problem"], evidence["last_status"]) == ("stale", "no_account")
    assert evidence["last_success_at"] is None


def test_a_channel_renamed_into_the_rooms_vocabulary_raises_a_keyword_alert(
    engine: Engine,
) -> None:
    load_rules(engine, RULES)
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="뉴스")])
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="지인능욕방 2")])

    (found,) = alerts(engine, kind="keyword")
    assert found["evidence"]["field"] == "title"
    assert found["subject"] == {
        "source": "@example_news",
        "source_id": found["subject"]["source_id"],
    }


def test_a_watched_channel_taking_a_new_username_is_still_watched(engine: Engine) -> None:
    watch(engine, "@example_news")
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="방")])
    renamed = SourceKey(Platform.TELEGRAM, platform_id=CHANNEL.platform_id, username="new_name")
    pipeline.ingest([ChannelSnapshot(renamed, T0, username="new_name", title="방")])
    pipeline.ingest([ChannelSnapshot(renamed, T0, username="new_name", title="방 2")])

    found = {a["evidence"]["change"]: a["evidence"] for a in alerts(engine, kind="source_change")}
    assert found["username"] == {
        "change": "username",
        "before": "example_news",
        "after": "new_name",
    }
    assert "title" in found
