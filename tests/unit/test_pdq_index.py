"""PdqIndex is exact: it returns what a brute-force scan returns, before and after mutations."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.matching.pdq_index import PdqIndex, parse_hashes


def _random_hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _flip(pdq_hex: str, bits: int, rng: random.Random) -> str:
    value = int(pdq_hex, 16)
    for bit in rng.sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def _brute_force(entries: dict[int, str], query: str, max_distance: int) -> list[tuple[int, int]]:
    q = int(query, 16)
    found = [(i, (int(h, 16) ^ q).bit_count()) for i, h in entries.items()]
    return sorted(((i, d) for i, d in found if d <= max_distance), key=lambda m: (m[1], m[0]))


def _near_duplicate_corpus(
    rng: random.Random, bases: int, copies: int
) -> tuple[dict[int, str], list[str]]:
    """Random base hashes plus copies with 0-40 flipped bits, and queries near the bases."""
    entries: dict[int, str] = {}
    queries = []
    for b in range(bases):
        base = _random_hash(rng)
        entries[b * 100] = base
        for c in range(1, copies + 1):
            entries[b * 100 + c] = _flip(base, rng.randint(0, 40), rng)
        queries.append(_flip(base, rng.randint(0, 31), rng))
    return entries, queries


@pytest.mark.parametrize("max_distance", [0, 1, 15, 16, 31, 32, 47, 63, 80, 256])
def test_matches_brute_force_at_every_radius(max_distance: int) -> None:
    rng = random.Random(max_distance)
    entries, queries = _near_duplicate_corpus(rng, bases=60, copies=8)
    index = PdqIndex.build(list(entries), list(entries.values()))
    assert len(index) == len(entries)
    for query in [*queries, _random_hash(rng)]:
        assert index.query(query, max_distance) == _brute_force(entries, query, max_distance)


def test_recall_is_one_on_seeded_near_duplicates() -> None:
    rng = random.Random(31)
    bases = {i: _random_hash(rng) for i in range(2000)}
    index = PdqIndex.build(list(bases), list(bases.values()))
    for entry_id in rng.sample(sorted(bases), 300):
        flipped = rng.randint(0, 31)
        query = _flip(bases[entry_id], flipped, rng)
        assert (entry_id, flipped) in index.query(query, 31)


def test_crowded_chunks_fall_back_to_an_exact_scan() -> None:
    # Real PDQ hashes are not uniform: here every entry shares most chunk values.
    rng = random.Random(5)
    base = "0" * 64
    entries = {i: _flip(base, rng.randint(0, 40), rng) for i in range(500)}
    index = PdqIndex.build(list(entries), list(entries.values()))
    for query in (base, _flip(base, 20, rng), _random_hash(rng)):
        assert index.query(query, 31) == _brute_force(entries, query, 31)


def test_add_remove_and_replace_take_effect_immediately() -> None:
    rng = random.Random(7)
    entries, queries = _near_duplicate_corpus(rng, bases=30, copies=5)
    index = PdqIndex.build(list(entries), list(entries.values()))

    for entry_id in rng.sample(sorted(entries), 40):
        assert index.remove(entry_id)
        del entries[entry_id]
    assert not index.remove(-1)
    assert not index.remove(next(iter(sorted(entries))) + 1_000_000)

    for n, query in enumerate(queries):
        new_id = 10_000 + n
        entries[new_id] = _flip(query, rng.randint(0, 31), rng)
        index.add(new_id, entries[new_id])
    replaced = next(iter(entries))
    entries[replaced] = queries[0]
    index.add(replaced, queries[0])  # same id, new hash: the old hash must not match any more
    removed_from_buffer = 10_001
    assert index.remove(removed_from_buffer)
    del entries[removed_from_buffer]

    assert len(index) == len(entries)
    for query in queries:
        assert index.query(query, 31) == _brute_force(entries, query, 31)


def test_buffer_merges_and_compaction_keep_answers_exact() -> None:
    # A tiny buffer forces many merges and tombstone compactions in a small test.
    rng = random.Random(11)
    entries, queries = _near_duplicate_corpus(rng, bases=10, copies=4)
    index = PdqIndex.build(list(entries), list(entries.values()), buffer_capacity=8)
    for step in range(300):
        if entries and rng.random() < 0.4:
            victim = rng.choice(sorted(entries))
            del entries[victim]
            assert index.remove(victim)
        else:
            entry_id = rng.randint(0, 2000)
            entries[entry_id] = _flip(rng.choice(queries), rng.randint(0, 35), rng)
            index.add(entry_id, entries[entry_id])
        if step % 25 == 0:
            assert len(index) == len(entries)
            for query in queries:
                assert index.query(query, 31) == _brute_force(entries, query, 31)


def test_empty_index_and_query_many() -> None:
    index = PdqIndex()
    assert len(index) == 0
    assert index.query("0" * 64) == []
    index.add(5, "f" * 64)
    assert index.query_many(["f" * 64, "0" * 64], 31) == [[(5, 0)], []]
    assert PdqIndex.build([], []).query("a" * 64, 256) == []


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        PdqIndex.build([1, 1], ["0" * 64, "1" * 64])
    with pytest.raises(ValueError):
        PdqIndex.build([1], [])
    for bad in ("0" * 63, "g" * 64, "0" * 62 + " 0", "0" * 65):
        with pytest.raises(ValueError):
            PdqIndex.build([1], [bad])
        with pytest.raises(ValueError):
            PdqIndex().add(1, bad)
    with pytest.raises(ValueError):
        PdqIndex().query("0" * 64, 257)
    with pytest.raises(ValueError):
        PdqIndex().query("0" * 64, -1)


def test_parse_hashes_is_most_significant_word_first() -> None:
    words = parse_hashes(["0000000000000001" + "0" * 47 + "F"])
    assert words.tolist() == [[1, 0, 0, 15]]


_hex = st.integers(min_value=0, max_value=2**256 - 1).map(lambda v: f"{v:064x}")


@settings(max_examples=60, deadline=None)
@given(
    base=_hex,
    flips=st.lists(st.sets(st.integers(0, 255), max_size=48), min_size=1, max_size=40),
    others=st.lists(_hex, max_size=20),
    removed=st.sets(st.integers(0, 59), max_size=10),
    query_flips=st.sets(st.integers(0, 255), max_size=40),
    max_distance=st.integers(0, 64),
)
def test_property_exact_against_brute_force(
    base: str,
    flips: list[set[int]],
    others: list[str],
    removed: set[int],
    query_flips: set[int],
    max_distance: int,
) -> None:
    def flipped(bits: set[int]) -> str:
        return f"{int(base, 16) ^ sum(1 << b for b in bits):064x}"

    hashes = [flipped(bits) for bits in flips] + others
    entries = dict(enumerate(hashes))
    half = len(hashes) // 2
    index = PdqIndex.build(list(range(half)), hashes[:half])
    for entry_id in range(half, len(hashes)):
        index.add(entry_id, hashes[entry_id])
    for entry_id in removed:
        assert index.remove(entry_id) == (entry_id in entries)
        entries.pop(entry_id, None)
    query = flipped(query_flips)
    assert index.query(query, max_distance) == _brute_force(entries, query, max_distance)
