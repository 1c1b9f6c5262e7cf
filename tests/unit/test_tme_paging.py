"""The incremental floor of t.me/s paging: capped runs leave a gap the next run closes."""

from __future__ import annotations

from spiders.tme_paging import Floor, PagingRun


def page(newest: int, before: int | None, size: int = 10) -> tuple[list[int], int | None]:
    """What t.me/s shows for ids 1..newest: the `size` ids below `before`, and the older cursor."""
    top = newest if before is None else before - 1
    ids = list(range(max(1, top - size + 1), top + 1))
    return ids, ids[0] if ids[0] > 1 else None


def walk(start: Floor, newest: int, cap: int) -> tuple[Floor, list[int | None]]:
    run, cursor, asked = PagingRun(start, cap), None, []
    while True:
        asked.append(cursor)
        ids, older = page(newest, cursor)
        cursor = run.after_page(ids, older)
        if cursor is None:
            return run.result(), asked


def test_a_complete_first_run_sets_the_floor_to_the_newest_id() -> None:
    assert walk(Floor(), 35, cap=10) == (Floor(35), [None, 26, 16, 6])


def test_a_run_stops_at_the_floor() -> None:
    assert walk(Floor(35), 48, cap=10) == (Floor(48), [None, 39])


def test_a_capped_run_leaves_a_gap_that_later_runs_close_without_rereading_it() -> None:
    first, asked = walk(Floor(), 60, cap=2)
    assert (first, asked) == (Floor(None, 60, 41), [None, 51])
    second, asked = walk(first, 60, cap=2)
    assert (second, asked) == (Floor(None, 60, 31), [None, 41])
    third, asked = walk(second, 62, cap=5)
    assert third == Floor(62) and asked == [None, 31, 21, 11]


def test_a_cursor_that_does_not_decrease_stops_paging_and_keeps_the_old_state() -> None:
    run = PagingRun(Floor(5), max_pages=10)
    assert run.after_page([30, 31], 30) == 30
    assert run.after_page([30, 31], 30) is None
    assert run.stop_reason and run.result() == Floor(5)


def test_stored_state_that_makes_no_sense_falls_back_to_the_floor() -> None:
    assert Floor.from_state({"floor": 9, "gap_top": 20}) == Floor(9)
    assert Floor.from_state({"floor": "9"}) == Floor()
    assert Floor.from_state(Floor(3, 20, 10).as_state()) == Floor(3, 20, 10)
