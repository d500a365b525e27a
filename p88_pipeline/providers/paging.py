"""Paging loops and the parse-or-reject step, written once for every client.

A loop asks `fetch` for one page and yields its rows; when a read is complete is decided by one
`PageSize` object, so how far a short page can be trusted lives in one place. Provider quirks
(RunSignUp's keyset across the events of a race, Haku's newest-first early stop) stay in their
client: the first is its own `next_key`, the second is the caller closing the generator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from p88_pipeline.providers.base import RejectedRecord

T = TypeVar("T")
K = TypeVar("K")
UNREADABLE = (ValueError, KeyError, TypeError, AttributeError)


@dataclass
class PageSize:
    """How many rows a read asks for per page, and whether a page that came back short ends it."""

    asked: int

    def ends_read(self, rows: int) -> bool:
        return rows < self.asked


def by_page_number(
    fetch: Callable[[int, int], Sequence[T]], size: PageSize, first: int = 1
) -> Iterator[Sequence[T]]:
    """`fetch(page, per_page)` from page `first` on, until a page ends the read."""
    page = first
    while True:
        rows = fetch(page, size.asked)
        yield rows
        if size.ends_read(len(rows)):
            return
        page += 1


def by_offset(fetch: Callable[[int, int], Sequence[T]], size: PageSize) -> Iterator[Sequence[T]]:
    """`fetch(offset, limit)` from offset 0, advancing by the rows each page held."""
    offset = 0
    while True:
        rows = fetch(offset, size.asked)
        yield rows
        if size.ends_read(len(rows)):
            return
        offset += len(rows)


def by_keyset(fetch: Callable[[K | None], T], next_key: Callable[[T], K | None]) -> Iterator[T]:
    """`fetch(after)` from the start (after=None); `next_key(page)` is None when it was the last."""
    after: K | None = None
    while True:
        page = fetch(after)
        yield page
        after = next_key(page)
        if after is None:
            return


def parse_or_reject(
    rows: Iterable[Any],
    parse: Callable[[Any], T],
    *,
    provider: str,
    event_id: str,
    id_of: Callable[[Any], str | None] = lambda raw: None,
) -> tuple[list[T], list[RejectedRecord]]:
    """Every row either parsed or quarantined with its reason (and its id, when it has one, so a
    full read does not take an unreadable registration for a vanished one)."""
    good: list[T] = []
    rejected: list[RejectedRecord] = []
    for raw in rows:
        try:
            good.append(parse(raw))
        except UNREADABLE as exc:
            rid = id_of(raw) if isinstance(raw, dict) else None
            rejected.append(RejectedRecord(provider, event_id, str(exc), raw, rid))
    return good, rejected
