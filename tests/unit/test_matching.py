"""Pure parts of matching: bank files, the bank index (with the golden PDQ images), priority,
discovery references and spike detection."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta

import pytest

from crawler.hashing.media import hash_media_bytes
from crawler.matching.activity import Rate, spike_candidate
from crawler.matching.alerts import priority
from crawler.matching.banks import BankFileError, BankRecord, SignalType, parse_bank_file
from crawler.matching.discovery import Reference, references
from crawler.matching.hash_matcher import BankIndex, Entry, MediaQuery
from storage.match_queries import BatchItem
from tests.factories import GOLDEN

PDQ = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"


def _entry(entry_id: int, value: str, *, signal: str = "pdq", negative: bool = False,
           threshold: int = 31) -> Entry:  # fmt: skip
    return Entry(entry_id, "neg" if negative else "bank", negative, threshold, "high", signal,
                 value, f"label-{entry_id}")  # fmt: skip


def test_csv_bank_values_are_lower_cased_and_labels_kept() -> None:
    records = parse_bank_file(f"signal_type,value,label\nPDQ,{PDQ.upper()},a\nmd5,{'AB' * 16}\n")
    assert records == [
        BankRecord(SignalType.PDQ, PDQ, "a"),
        BankRecord(SignalType.MD5, "ab" * 16, None),
    ]


def test_every_bad_line_is_reported_with_its_number() -> None:
    with pytest.raises(BankFileError) as caught:
        parse_bank_file(f"pdq,{PDQ[:-1]}\nsha256,{'0' * 64}\nmd5\n", "x.csv")
    assert caught.value.problems[0].startswith("line 1: pdq value must be 64 hex digits")
    assert caught.value.problems[1] == "line 3: expected signal_type,value[,label], got 1 fields"


def test_exchange_records_marked_deleted_are_withdrawals() -> None:
    text = (
        f'{{"signal_type": "pdq", "signal_value": "{PDQ}", "labels": ["a", "b"]}}\n\n'
        f'{{"type": "video_md5", "value": "{"0" * 32}", "status": "deleted"}}\n'
    )
    assert parse_bank_file(text, "x.jsonl") == [
        BankRecord(SignalType.PDQ, PDQ, "a,b"),
        BankRecord(SignalType.MD5, "0" * 32, None, withdrawn=True),
    ]
    with pytest.raises(BankFileError, match="line 1: unknown status 'maybe'"):
        parse_bank_file(f'{{"signal_type": "pdq", "value": "{PDQ}", "status": "maybe"}}', "x.json")


def test_exact_hashes_match_exactly_and_removal_takes_effect_at_once() -> None:
    index = BankIndex()
    index.apply([(_entry(1, "ab" * 32, signal="sha256"), True)])
    assert [m.entry.id for m in index.match(MediaQuery(sha256="ab" * 32))] == [1]
    assert index.match(MediaQuery(sha256="ac" * 32)) == []
    index.apply([(_entry(1, "ab" * 32, signal="sha256"), False)])
    assert index.match(MediaQuery(sha256="ab" * 32)) == []


def test_pdq_respects_each_banks_threshold_and_quality_floor() -> None:
    near = f"{int(PDQ, 16) ^ 0xFFFF:064x}"  # 16 bits away
    index = BankIndex()
    index.apply([(_entry(1, PDQ, threshold=31), True), (_entry(2, PDQ, threshold=10), True)])
    (match,) = index.match(MediaQuery(pdq=near, pdq_quality=60))
    assert (match.entry.id, match.distance, match.quality, match.confidence) == (1, 16, 60, 0.5)
    assert index.match(MediaQuery(pdq=near, pdq_quality=49)) == []


def test_confidence_ranks_exact_over_near_over_threshold_pdq() -> None:
    index = BankIndex()
    index.apply([(_entry(1, PDQ), True), (_entry(2, "ab" * 32, signal="sha256"), True)])
    exact, pdq = index.match(MediaQuery(sha256="ab" * 32, pdq=PDQ, pdq_quality=100))
    assert (exact.confidence, pdq.confidence) == (1.0, 0.8)


def test_a_negative_bank_hit_suppresses_every_positive_match() -> None:
    index = BankIndex()
    index.apply([(_entry(1, PDQ), True), (_entry(2, PDQ, negative=True, threshold=0), True)])
    assert index.match(MediaQuery(pdq=PDQ, pdq_quality=100)) == []


def test_golden_dihedral_variants_match_the_banked_original_only_with_dihedral_queries() -> None:
    original = (GOLDEN / "dihedral" / "bridge-1-original.jpg").read_bytes()
    banked = hash_media_bytes(original, kind="photo", mime="image/jpeg", max_bytes=1 << 25)
    index = BankIndex()
    index.apply([(_entry(1, banked.pdq), True)])
    variants = sorted((GOLDEN / "dihedral").glob("*.jpg"))
    assert len(variants) == 8
    plain_misses = 0
    for path in variants:
        media = hash_media_bytes(path.read_bytes(), kind="photo", mime=None, max_bytes=1 << 25)
        pdq = media.pdq
        query = MediaQuery(pdq=pdq, pdq_quality=100, dihedral=media.pdq_dihedral)
        assert [m.entry.id for m in index.match(query)] == [1], path.name
        plain_misses += not index.match(MediaQuery(pdq=pdq, pdq_quality=100))
    assert plain_misses >= 5  # rotations and flips are far apart without the dihedral query


def test_golden_bridge_mods_match_the_reference_hash_of_the_original() -> None:
    with (GOLDEN / "reference_hashes.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    original = next(r for r in rows if r["file"].endswith("aaa-orig.jpg"))
    index = BankIndex()
    index.apply([(_entry(1, original["pdq_hex"]), True)])
    matched = 0
    for row in rows:
        if not row["file"].startswith("bridge-mods/"):
            continue
        ours = hash_media_bytes((GOLDEN / row["file"]).read_bytes(), kind="photo",
                                mime="image/jpeg", max_bytes=1 << 25)  # fmt: skip
        matched += bool(index.match(MediaQuery(pdq=ours.pdq, pdq_quality=ours.pdq_quality)))
    assert matched >= 1


def test_priority_combines_severity_confidence_and_reach() -> None:
    assert priority("high", 1.0, 0) > priority("high", 0.8, 0)
    assert priority("high", 0.8, 1_000_000) > priority("high", 0.8, 10)
    for lower, higher in (("low", "medium"), ("medium", "high"), ("high", "critical")):
        assert priority(lower, 1.0, 10**12) < priority(higher, 1.0, 0)
    assert priority("critical", 0.4, 0) < priority("high", 1.0, 0)


def _item(item_id: int, **fields: object) -> BatchItem:
    defaults = dict(
        id=item_id, source_id=1, platform="telegram", platform_id=str(item_id),
        username="home", source_platform_id="100", text="", reach=0, posted_at=None,
        version_count=1, fwd_username=None, fwd_source_id=None,
    )  # fmt: skip
    return BatchItem(**{**defaults, **fields})  # type: ignore[arg-type]


class _Link:
    def __init__(self, item_id: int, kind: str, target: str) -> None:
        self.item_id, self.kind, self.target = item_id, kind, target


def test_references_type_each_way_a_channel_is_pointed_to_and_skip_self_links() -> None:
    items = [_item(1, fwd_username="Other"), _item(2, fwd_source_id="555"), _item(3)]
    links = [_Link(3, "channel", "home"), _Link(3, "mention", "HelperBot"),
             _Link(3, "invite", "AbC123"), _Link(3, "invite", "addlist/Slug1"),
             _Link(9, "channel", "unrelated")]  # fmt: skip
    assert references(items, links) == [
        Reference("@other", 1, "forward"),
        Reference("id:555", 2, "forward"),
        Reference("@helperbot", 3, "bot"),
        Reference("+AbC123", 3, "invite"),
        Reference("addlist/Slug1", 3, "folder"),
    ]


def test_no_spike_without_a_full_baseline_or_below_the_factor() -> None:
    end = datetime(2024, 8, 27, 12, tzinfo=UTC)
    old = end - timedelta(days=30)
    kwargs = {"factor": 5.0, "baseline_hours": 24, "min_posts": 10, "reach": None}
    assert spike_candidate(Rate(1, end, 50, 24, old), **kwargs) is not None
    assert spike_candidate(Rate(1, end, 50, 24, end - timedelta(hours=2)), **kwargs) is None
    assert spike_candidate(Rate(1, end, 50, 24 * 11, old), **kwargs) is None
    assert spike_candidate(Rate(1, end, 9, 0, old), **kwargs) is None


def test_a_bulk_load_then_single_changes_keep_the_index_exact() -> None:
    rng = random.Random(3)
    values = [f"{rng.getrandbits(256):064x}" for _ in range(5000)]
    index = BankIndex()
    index.apply((_entry(i, value), True) for i, value in enumerate(values))
    assert len(index) == 5000
    assert [m.entry.id for m in index.match(MediaQuery(pdq=values[42], pdq_quality=90))] == [42]
    index.apply([(_entry(42, values[42]), False), (_entry(9000, values[42], threshold=0), True)])
    assert [m.entry.id for m in index.match(MediaQuery(pdq=values[42], pdq_quality=90))] == [9000]
