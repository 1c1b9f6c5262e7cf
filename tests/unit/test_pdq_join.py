"""The rescan's PDQ join (``rescan.pdq_hits``) finds exactly the hashes a brute-force
comparison with every bank entry finds, in one thread or several."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from crawler.matching.rescan import pdq_hits


def _brute_force(words: np.ndarray, bank: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    distances = np.bitwise_count(words[:, None, :] ^ bank[None, :, :]).sum(axis=2)
    return (distances <= thresholds[None, :]).any(axis=1)


def _flipped(rng: np.random.Generator, word: np.ndarray, bits: int) -> np.ndarray:
    flipped = word.copy()
    for bit in rng.choice(256, size=bits, replace=False):
        flipped[bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
    return flipped


@given(
    seed=st.integers(0, 2**32 - 1),
    media=st.integers(0, 300),
    entries=st.integers(0, 40),
    near=st.lists(st.integers(0, 40), max_size=40),
    threshold_choices=st.lists(st.integers(0, 40), min_size=1, max_size=3),
    threads=st.sampled_from([1, 2, 3]),
)
def test_the_join_finds_what_comparing_with_every_entry_finds(
    seed: int,
    media: int,
    entries: int,
    near: list[int],
    threshold_choices: list[int],
    threads: int,
) -> None:
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 2**64, size=(entries, 4), dtype=np.uint64)
    words = rng.integers(0, 2**64, size=(media, 4), dtype=np.uint64)
    # Copies of entries at chosen distances, around every threshold: the rest are random.
    if entries and media:
        positions = rng.choice(media, size=min(len(near), media))
        for position, bits in zip(positions, near, strict=False):
            words[position] = _flipped(rng, bank[rng.integers(entries)], bits)
    thresholds = rng.choice(threshold_choices, size=entries).astype(np.int32)

    found = pdq_hits(words, bank, thresholds, threads)

    assert found.tolist() == _brute_force(words, bank, thresholds).tolist()
