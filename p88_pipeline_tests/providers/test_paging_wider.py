"""A short page of a filtered read proven by the same list without its filter (PageSize's
`wider`): one call that also teaches the next reads, instead of a page read only to see it empty."""

from __future__ import annotations

from p88_pipeline.providers.paging import PageCaps, PageSize, by_page_number


def pages(rows: list[int], cap: int):
    """fetch(page, per_page) over `rows`, never more than `cap` per page (a silent cap)."""
    calls: list[tuple[int, int]] = []

    def fetch(page: int, per_page: int) -> list[int]:
        calls.append((page, per_page))
        size = min(per_page, cap)
        return rows[(page - 1) * size : page * size]

    return fetch, calls


def test_a_wider_page_proves_the_short_one_and_the_next_reads_need_no_proof() -> None:
    caps = PageCaps()
    fetch, calls = pages(list(range(5)), cap=1000)
    wider_calls: list[int] = []

    def wider(asked: int) -> int:
        wider_calls.append(asked)
        return 12  # the list without its filter: 12 rows in one page

    read = list(by_page_number(fetch, PageSize(100, "races", caps, wider)))
    assert sum(map(len, read)) == 5 and calls == [(1, 100)] and wider_calls == [100]
    assert caps.extra == {"races": 1} and caps.get("races").largest == 12  # counted per list
    read = list(by_page_number(fetch, PageSize(100, "races", caps, wider)))  # the next night
    assert calls == [(1, 100), (1, 100)] and wider_calls == [100] and caps.extra_calls == 1


def test_a_wider_page_no_bigger_falls_back_to_the_next_page_and_learns_a_silent_cap() -> None:
    caps = PageCaps()
    fetch, calls = pages(list(range(12)), cap=5)  # the server sends 5 rows, whatever is asked
    read = list(by_page_number(fetch, PageSize(100, "races", caps, lambda asked: 5)))
    assert sum(map(len, read)) == 12  # nothing lost
    assert caps.get("races").cap == 5
    assert caps.extra_calls == 1  # the wider call; the pages after it all held rows
