"""Korean substring search: right answers for 1-, 2- and 3+-syllable queries on both backends,
and an index behind every query of three characters or more."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text

from crawler.ingest import ingest
from storage.item_queries import ItemFilter, find_items
from storage.models import Item, SearchQueue
from storage.search import catch_up, text_condition
from tests.factories import post

TEXTS = {
    1: "지인능욕방 새 링크 올림",
    2: "겹지인 구합니다",
    3: "오늘 날씨가 좋네요",
    4: "딥페이크 성범죄 신고는 여기로",
    5: "Deepfake room MIRROR link",
    6: "합성방 입장 안내 (능욕 금지 아님)",
}


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
        ("방", {1, 6}),  # one syllable
        ("능욕", {1, 6}),  # two syllables: most Korean nouns
        ("지인", {1, 2}),
        ("지인능욕", {1}),  # three and more
        ("능욕방", {1}),
        ("딥페이크 성범죄", {4}),
        ("deepfake", {5}),  # Latin, case-insensitive
        ("mirror LINK", {5}),
        ("없는말", set()),
        ("%", set()),  # LIKE wildcards are literal characters
        ("_", set()),
    ],
)
def test_substring_search_finds_exactly_the_items_containing_the_query(
    corpus: Engine, query: str, expected: set[int], indexed: bool
) -> None:
    if indexed:
        catch_up(corpus)
    assert _search(corpus, query) == expected


def test_edited_text_is_found_by_its_new_words_only(corpus: Engine) -> None:
    catch_up(corpus)
    ingest(corpus, [post(3, "날씨 대신 합성방 홍보")])
    assert 3 in _search(corpus, "합성방")
    assert 3 not in _search(corpus, "날씨가")
    catch_up(corpus)
    assert 3 in _search(corpus, "합성방")
    assert 3 not in _search(corpus, "날씨가")


def test_the_indexer_covers_new_and_edited_items_once(corpus: Engine) -> None:
    assert catch_up(corpus) == len(TEXTS)
    ingest(corpus, [post(2, "겹지인 구함 (수정)"), post(99, "새 글")])
    assert catch_up(corpus) == 2
    assert catch_up(corpus) == 0
    with corpus.connect() as conn:
        assert conn.execute(select(SearchQueue.item_id)).all() == []


def test_queries_of_three_characters_use_the_trigram_index(corpus: Engine) -> None:
    catch_up(corpus)
    condition = text_condition(corpus.dialect.name, "지인능욕")
    query = select(Item.id).where(condition)
    with corpus.connect() as conn:
        if corpus.dialect.name == "sqlite":
            sql = query.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "item_fts VIRTUAL TABLE INDEX" in plan
        else:
            conn.execute(text("SET enable_seqscan = off"))
            sql = query.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "ix_item_fts_trgm" in plan


def test_an_edit_of_the_newest_indexed_item_is_reindexed_in_one_pass(corpus: Engine) -> None:
    catch_up(corpus)
    ingest(corpus, [post(max(TEXTS), "합성방 공지 (수정)")])
    assert catch_up(corpus) == 1
    assert catch_up(corpus) == 0
    with corpus.connect() as conn:
        assert conn.execute(select(SearchQueue.item_id)).all() == []
