"""The shared pager as plain decisions: when a short page ends a read (issue 9: no silent
truncation), keyset paging, and parse-or-reject (survivors of the mutation check,
docs/testing.md)."""

from __future__ import annotations

import weakref
from collections import deque
from typing import Any

import pytest

from p88_pipeline.providers.base import MalformedResponseError
from p88_pipeline.providers.paging import (
    Cap,
    PageCaps,
    PageSize,
    by_keyset,
    by_offset,
    by_page_number,
    more_from_headers,
    parse_or_reject,
)


def server(rows: int, cap: int):
    """A list of `rows` rows served `cap` at most per page, whatever was asked."""

    def fetch(page: int, per_page: int) -> list[int]:
        size = min(per_page, cap)
        return list(range(rows))[(page - 1) * size : page * size]

    return fetch


def read(rows: int, cap: int, caps: PageCaps, wanted: int = 100) -> tuple[int, int]:
    calls = 0

    def counted(page: int, per_page: int) -> list[int]:
        nonlocal calls
        calls += 1
        return server(rows, cap)(page, per_page)

    got = sum(len(p) for p in by_page_number(counted, PageSize(wanted, "list", caps)))
    return got, calls


def test_a_silent_cap_costs_no_row_and_is_learned_then_asked_for() -> None:
    caps = PageCaps()
    assert read(60, 25, caps) == (60, 3)  # 25, 25 (more followed: cap 25), 10
    assert caps.get("list") == Cap(25, 25)
    assert PageSize(100, "list", caps).asked == 25
    assert read(60, 25, caps) == (60, 3)


def test_an_unproven_short_page_costs_one_extra_call_then_none() -> None:
    caps = PageCaps()
    assert read(10, 25, caps) == (10, 2)  # 10 rows, then an empty page: one extra call
    assert caps.extra_calls == 1 and caps.get("list") == Cap(None, 10)
    assert read(7, 25, caps) == (7, 1)  # shorter than a page already seen: the last
    assert caps.extra_calls == 1


def test_a_documented_maximum_is_asked_for_but_not_trusted() -> None:
    caps = PageCaps({"list": 2500})
    assert PageSize(5000, "list", caps).asked == 2500
    assert read(1200, 1000, caps, wanted=2500) == (1200, 2)  # silently 1,000: nothing lost
    assert caps.get("list").cap == 1000


def test_a_full_page_then_a_short_one_ends_the_read() -> None:
    caps = PageCaps()
    assert read(250, 100, caps) == (250, 3)
    assert caps.extra_calls == 0


def test_pagination_metadata_decides_when_present() -> None:
    assert more_from_headers({"Link": '<https://x/?page=2>; rel="next"'}) is True
    assert more_from_headers({"link": '<https://x/?page=1>; rel="first"'}) is False
    assert more_from_headers({}) is None
    caps = PageCaps()
    pages = [([1, 2, 3], True), ([4, 5, 6], True), ([7], False)]
    got = list(by_offset(lambda offset, limit: pages.pop(0), PageSize(100, "list", caps)))
    assert [len(p) for p in got] == [3, 3, 1] and caps.get("list").cap == 3
    assert caps.extra_calls == 0


def test_learned_caps_are_what_to_persist_and_loaded_ones_are_known() -> None:
    caps = PageCaps()
    caps.load({"list": Cap(25, 25)})
    assert caps.learned() == {} and PageSize(100, "list", caps).asked == 25
    caps.learn("other", page=40)
    assert caps.learned() == {"other": Cap(None, 40)}
    assert caps.snapshot()["list"] == {"cap": 25, "largest_page": 25}


def test_keyset_paging_starts_without_a_cursor_and_stops_when_there_is_no_next() -> None:
    asked: list[Any] = []
    pages = {None: ["a", "b"], "b": ["c"]}

    def fetch(after: str | None) -> list[str]:
        asked.append(after)
        return pages[after]

    assert list(by_keyset(fetch, lambda page: page[-1] if len(page) == 2 else None)) == [
        ["a", "b"],
        ["c"],
    ]
    assert asked == [None, "b"]


def test_keyset_paging_fails_loudly_when_the_server_ignores_the_cursor() -> None:
    """A server that ignores after_registration_id answers the same page for ever: the read
    fails on the second page instead of looping (and the group stores nothing)."""
    asked: list[Any] = []

    def fetch(after: int | None) -> list[int]:
        asked.append(after)
        if len(asked) > 3:
            raise AssertionError("still reading: the cursor check is missing")
        return [1, 2]

    with pytest.raises(
        MalformedResponseError,
        match=r"^keyset paging did not advance \(after 2, next 2\): the server ignores the cursor$",
    ):
        list(by_keyset(fetch, lambda page: page[-1]))
    assert asked == [None, 2]


def test_keyset_paging_lets_a_page_go_before_reading_the_next() -> None:
    """One page in memory at a time: the pager keeps no reference to a page it handed over
    while it reads the next one (a full RunSignUp page is thousands of records)."""

    class Page(list):
        pass

    alive: list[weakref.ref] = []

    def fetch(after: int | None) -> Page:
        assert all(ref() is None for ref in alive), "the previous page is still held"
        page = Page([(after or 0) + 1])
        alive.append(weakref.ref(page))
        return page

    pages = by_keyset(fetch, lambda page: page[-1] if page[-1] < 3 else None)
    deque(pages, maxlen=0)  # a consumer that keeps nothing
    assert len(alive) == 3


def test_unreadable_records_are_rejected_with_their_id_when_they_have_one() -> None:
    def parse(raw: Any) -> str:
        return str(raw["name"])

    good, rejected = parse_or_reject(
        [{"id": "1", "name": "Ann"}, "not a record", {"id": "7"}],
        parse,
        provider="runsignup",
        event_id="e1",
        id_of=lambda raw: raw["id"],
    )
    assert good == ["Ann"]
    assert [(r.participant_id, r.event_id, r.provider) for r in rejected] == [
        (None, "e1", "runsignup"),
        ("7", "e1", "runsignup"),
    ]
    assert [(r.raw, r.reason) for r in rejected] == [
        ("not a record", "string indices must be integers, not 'str'"),
        ({"id": "7"}, "'name'"),
    ]


def test_a_page_of_one_new_row_after_a_short_page_proves_a_cap() -> None:
    caps = PageCaps()
    assert read(11, 10, caps) == (11, 2)  # 10 (short: unproven), 1 more row: a silent cap
    assert caps.get("list") == Cap(10, 10) and caps.extra_calls == 0


def test_a_short_page_as_long_as_the_longest_seen_is_not_trusted() -> None:
    """A page equal to the largest ever seen may be the server's silent cap: read one more."""
    caps = PageCaps()
    assert read(10, 25, caps) == (10, 2)  # largest page seen: 10
    assert read(20, 10, caps) == (20, 3)  # 10, 10 (cap 10 learned), then an empty page
    assert caps.get("list") == Cap(10, 10) and caps.extra_calls == 1


def test_once_a_cap_is_proven_the_read_goes_on_without_further_proof() -> None:
    caps = PageCaps()
    assert read(30, 10, caps) == (30, 4)  # 10, 10 (cap proven), 10, then the empty page
    assert caps.extra_calls == 0 and caps.get("list") == Cap(10, 10)


def test_an_empty_first_page_ends_the_read_without_waste() -> None:
    size = PageSize(100, "list")  # no caps given: a private, empty set of facts
    assert size.ends_read(0) is True
    assert size.caps.extra_calls == 0 and size.caps.get("list") == Cap(None, 0)


def test_a_page_repeating_only_rows_already_read_ends_the_read() -> None:
    """Keyset reads across a race's events re-read a block: a page bringing nothing new after a
    short one is the end, not a cap (and not a loop)."""
    size = PageSize(100, "participants")
    assert size.ends_read(5) is False  # short, unproven
    assert size.ends_read(5, new_rows=0) is True
    assert size.caps.extra == {"participants": 1} and size.caps.get("participants").cap is None


def test_caps_loaded_merge_with_what_is_known_and_waste_counts_per_endpoint() -> None:
    caps = PageCaps()
    caps.learn("list", cap=25)
    assert caps.get("list") == Cap(25, 0)
    caps.load({"list": Cap(None, 40)})
    assert caps.get("list") == Cap(25, 40)
    caps.wasted("list")
    caps.wasted("list")
    caps.wasted("other")
    assert caps.extra == {"list": 2, "other": 1} and caps.extra_calls == 3


@pytest.mark.parametrize("pager", [by_page_number, by_offset])
def test_pagination_metadata_ends_a_read_and_teaches_only_short_pages(pager) -> None:
    def served(*pages: tuple[list[int], bool]) -> Any:
        answers = list(pages)
        return lambda at, limit: answers.pop(0)

    caps = PageCaps()
    got = list(pager(served(([1, 2, 3], True), ([4, 5, 6], False)), PageSize(3, "list", caps)))
    assert got == [[1, 2, 3], [4, 5, 6]] and caps.get("list") == Cap(None, 3)  # full: no cap
    got = list(pager(served(([1], True), ([2], False)), PageSize(3, "list", caps)))
    assert got == [[1], [2]] and caps.get("list") == Cap(1, 3)  # 1 row, more followed: cap 1


def test_offsets_advance_by_the_rows_each_page_held() -> None:
    rows, asked = list(range(25)), []

    def fetch(offset: int, limit: int) -> list[int]:
        asked.append((offset, limit))
        return rows[offset : offset + min(limit, 10)]

    got = [r for page in by_offset(fetch, PageSize(10, "list")) for r in page]
    assert got == rows and asked == [(0, 10), (10, 10), (20, 10)]
