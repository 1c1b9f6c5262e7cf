"""The sandbox world's building blocks: Telegram entities that the real parser reads back, and
synthetic pictures that hash the way the demo's bank needs."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.hashing.images import hamming_distance
from crawler.hashing.media import hash_media_bytes
from crawler.observations import HashStatus, LinkKind, MediaHashes
from crawler.telegram.parse import message_links
from sandbox.pictures import mirrored, synthetic_picture
from sandbox.world import INVITE, Mention, Url, build_world, telegram_text


def hashes(jpeg: bytes) -> MediaHashes:
    return hash_media_bytes(jpeg, kind="photo", mime="image/jpeg", max_bytes=1 << 24)


def test_entities_land_on_the_mention_and_the_url_after_korean_and_emoji_text() -> None:
    parts = ("😀 새 주소 ", Mention("region_talk_new"), " 또는 ", Url(INVITE))
    text, entities = telegram_text(parts)

    links = message_links(text, entities)

    assert [(link.kind, link.target) for link in links] == [
        (LinkKind.MENTION, "region_talk_new"),
        (LinkKind.INVITE, "Qw3rTyUi0pAsDfGh"),
    ]


def test_pictures_repeat_per_seed_and_differ_across_seeds() -> None:
    assert synthetic_picture(7) == synthetic_picture(7)
    first, second = hashes(synthetic_picture(7)), hashes(synthetic_picture(8))
    assert first.hash_status is HashStatus.HASHED and first.pdq_quality >= 80
    assert hamming_distance(first.pdq, second.pdq) > 64


def test_a_mirrored_picture_differs_exactly_but_matches_one_of_its_dihedral_variants() -> None:
    original = synthetic_picture(101)
    copy = hashes(mirrored(original))
    banked = hashes(original)

    assert copy.sha256 != banked.sha256
    assert hamming_distance(copy.pdq, banked.pdq) > 31
    assert min(hamming_distance(variant, banked.pdq) for variant in copy.pdq_dihedral) <= 31


def test_the_second_pass_renames_recreates_and_moves_rooms() -> None:
    world = build_world(datetime(2026, 1, 5, tzinfo=UTC))
    archive_id = world.rooms["archive"].id

    world.advance(datetime(2026, 1, 5, 2, tzinfo=UTC))

    usernames = {c.username for c in world.telegram.channels.values()}
    assert usernames == {"gyeopjiin_notice2", "hapsung_archive", "jiin_lounge", "region_talk_new"}
    assert world.rooms["archive"].id != archive_id
    assert 4 not in world.rooms["lounge"].messages
    assert world.site.pages["/hub"].etag == '"hub-2"'
