"""Search finds words padded with invisible characters (겹<ZWSP>지인방 for 겹지인) on both backends,
indexed or not, while the stored text stays exactly as collected and spaces still count."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text

from crawler.ingest import ingest
from storage.invisible import INVISIBLE, INVISIBLE_CLASS, INVISIBLE_RANGES, without_invisible
from storage.item_queries import ItemFilter, find_items
from storage.migrate import upgrade
from storage.models import Item, SearchQueue
from storage.search import catch_up
from tests.factories import post

TEXTS = {
    1: "겹\u200b지인방 새 링크",  # zero-width space
    2: "겹\u200c지\u200d인 구함",  # ZWNJ, ZWJ
    3: "지\u2060인\ufeff능욕",  # word joiner, BOM
    4: "겹지\u00ad인 모집",  # soft hyphen
    5: "겹\u3164지\u115f인\u1160방\uffa0",  # Hangul fillers
    6: "겹지인 구합니다",  # plain
    7: "deep\u200bFAKE room",  # Latin, zero-width space
    8: "겹 지인",  # a real space is not invisible
    9: "겹\ufe0f지\U000e0020인",  # variation selector, tag space
    10: "오늘 날씨가 좋네요",
}
PADDED = {n for n, body in TEXTS.items() if n not in (6, 8, 10)}


def _search(engine: Engine, query: str) -> set[int]:
    with engine.connect() as conn:
        return {r["platform_id"] for r in find_items(conn, ItemFilter(text=query, limit=100))}


@pytest.fixture
def corpus(engine: Engine) -> Engine:
    ingest(engine, [post(n, body) for n, body in TEXTS.items()])
    return engine


@pytest.mark.parametrize("indexed", [False, True], ids=["before-indexer", "after-indexer"])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("겹", {1, 2, 4, 5, 6, 8, 9}),  # one syllable
        ("지인", {1, 2, 3, 4, 5, 6, 8, 9}),  # two syllables
        ("겹지인", {1, 2, 4, 5, 6, 9}),  # three: index-assisted
        ("겹지인방", {1, 5}),
        ("지인능욕", {3}),
        ("deepfake", {7}),
        ("겹\u200b지인", {1, 2, 4, 5, 6, 9}),  # the query is folded the same way
        ("지\u3164인", {1, 2, 3, 4, 5, 6, 8, 9}),  # ... to two characters: a scan
        ("겹 지인", {8}),  # spaces still count
        ("날씨가 좋", {10}),  # plain text as before
        ("\u200b\ufeff", set()),  # nothing searchable is invisible
    ],
)
def test_invisible_characters_in_text_or_query_do_not_hide_a_word(
    corpus: Engine, query: str, expected: set[int], indexed: bool
) -> None:
    if indexed:
        catch_up(corpus)
    assert _search(corpus, query) == expected


def test_the_stored_text_stays_as_collected(corpus: Engine) -> None:
    catch_up(corpus)
    with corpus.connect() as conn:
        found = find_items(conn, ItemFilter(text="겹지인방"))
        stored = dict(conn.execute(select(Item.message_id, Item.text)).all())
    assert {r["platform_id"]: r["text"] for r in found} == {1: TEXTS[1], 5: TEXTS[5]}
    assert stored == TEXTS


def test_an_edit_that_pads_a_word_is_found_before_and_after_reindexing(corpus: Engine) -> None:
    catch_up(corpus)
    ingest(corpus, [post(10, "오늘 겹\u2060지\u200b인방 링크")])
    assert 10 in _search(corpus, "겹지인방")
    assert catch_up(corpus) == 1
    assert 10 in _search(corpus, "겹지인방")
    assert 10 not in _search(corpus, "날씨가")


def test_migration_requeues_items_indexed_with_their_invisible_characters(corpus: Engine) -> None:
    # What the indexer wrote before the index held the searchable form: the text as collected.
    with corpus.begin() as conn:
        conn.execute(text("INSERT INTO item_fts (rowid, text) SELECT id, text FROM item"))
    assert _search(corpus, "겹지인") == {6}
    # Run 0006 alone on this database, then put back the revision it was at.
    set_revision = text("UPDATE alembic_version SET version_num = :revision")
    with corpus.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(set_revision, {"revision": "0005"})
    upgrade(corpus, "0006")
    with corpus.begin() as conn:
        conn.execute(set_revision, {"revision": head})

    with corpus.connect() as conn:
        queued = set(
            conn.execute(
                select(Item.message_id).join(SearchQueue, SearchQueue.item_id == Item.id)
            ).scalars()
        )
    assert queued == PADDED
    assert _search(corpus, "겹지인") == {1, 2, 4, 5, 6, 9}  # right before the indexer runs
    assert catch_up(corpus) == len(PADDED)
    assert _search(corpus, "겹지인") == {1, 2, 4, 5, 6, 9}
    with corpus.connect() as conn:
        item_id = conn.scalar(select(Item.id).where(Item.message_id == 5))
        indexed = conn.execute(
            text("SELECT text FROM item_fts WHERE rowid = :id"), {"id": item_id}
        ).scalar_one()
    assert indexed == "겹지인방"


def test_the_database_reads_the_invisible_class_as_the_same_set(engine: Engine) -> None:
    # PostgreSQL folds the index and the scan with it; SQLite's GLOB finds rows to re-queue.
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # Every character PostgreSQL text can hold: no NUL, no surrogates.
            every = "".join(chr(cp) for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF)
            folded = conn.execute(
                text("SELECT regexp_replace(:every, :invisible, '', 'g')"),
                {"every": every, "invisible": INVISIBLE_CLASS},
            ).scalar_one()
            assert folded == without_invisible(every)
        else:
            edges = {
                cp + d
                for first, last in INVISIBLE_RANGES
                for cp in (first, last)
                for d in (-1, 0, 1)
            }
            glob = text("SELECT :ch GLOB '*' || :invisible || '*'")
            found = {
                cp
                for cp in edges
                if conn.execute(glob, {"ch": chr(cp), "invisible": INVISIBLE_CLASS}).scalar_one()
            }
            assert found == edges & INVISIBLE
