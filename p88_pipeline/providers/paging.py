"""Paging loops, page caps and the parse-or-reject step, written once for every client.

A loop asks `fetch` for one page and yields its rows; whether the read is complete is decided by
one `PageSize` per read, so how far a short page can be trusted lives in one place (issue 9: no
silent truncation). A short page ends a read only when the server is known to fill bigger pages
on that endpoint and account (a cap seen, a bigger page seen, a documented maximum) or when
pagination metadata says so; otherwise one more page is read, and an answer there teaches the
cap. Provider quirks (RunSignUp's keyset across the events of a race, Haku's newest-first early
stop) stay in their client: the first is its own `next_key`, the second is closing the generator.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from p88_pipeline.providers.base import MalformedResponseError, RejectedRecord

T = TypeVar("T")
K = TypeVar("K")
UNREADABLE = (ValueError, KeyError, TypeError, AttributeError)


@dataclass(frozen=True)
class Cap:
    """`cap`: a page of that many rows, fewer than asked, came while more rows followed;
    `largest`: the most rows one page ever held."""

    cap: int | None = None
    largest: int = 0

    def as_dict(self) -> dict[str, int | None]:
        return {"cap": self.cap, "largest_page": self.largest}


class PageCaps:
    """What one account's server is known to do per endpoint, shared by a client's reads.

    `documented` maxima are only what to ask at most: a server that documents 2,500 and silently
    sends 1,000 must not lose rows, so a short page is judged on what was seen, never on docs.
    """

    def __init__(self, documented: Mapping[str, int | None] | None = None) -> None:
        self._ceilings = {e: c for e, c in (documented or {}).items() if c}
        self._known: dict[str, Cap] = {}
        self._learned: dict[str, Cap] = {}
        self._lock = threading.Lock()
        self.extra: dict[str, int] = {}  # per endpoint: pages read only to find the end

    @property
    def extra_calls(self) -> int:
        return sum(self.extra.values())

    def ask(self, endpoint: str, wanted: int) -> int:
        """What to request: the wanted size, at most the documented maximum and a learned cap."""
        limits = [wanted, self._ceilings.get(endpoint), self.get(endpoint).cap]
        return max(1, min(n for n in limits if n))

    def load(self, known: Mapping[str, Cap]) -> None:
        """Facts learned by earlier runs (the warehouse), merged with what is known already."""
        with self._lock:
            for endpoint, cap in known.items():
                old = self._known.get(endpoint, Cap())
                self._known[endpoint] = Cap(cap.cap or old.cap, max(cap.largest, old.largest))

    def get(self, endpoint: str) -> Cap:
        with self._lock:
            return self._known.get(endpoint, Cap())

    def learn(self, endpoint: str, *, cap: int | None = None, page: int = 0) -> None:
        with self._lock:
            old = self._known.get(endpoint, Cap())
            new = Cap(cap or old.cap, max(page, old.largest))
            if new != old:
                self._known[endpoint] = new
                self._learned[endpoint] = new

    def wasted(self, endpoint: str) -> None:
        with self._lock:
            self.extra[endpoint] = self.extra.get(endpoint, 0) + 1

    def learned(self) -> dict[str, Cap]:
        """What this client learned (to persist)."""
        with self._lock:
            return dict(self._learned)

    def snapshot(self) -> dict[str, dict[str, int | None]]:
        """Every endpoint's known facts, for sync_runs and the run's metadata."""
        with self._lock:
            return {e: c.as_dict() for e, c in sorted(self._known.items())}


class PageSize:
    """One read's page size, and the rule that says when a page is its last.

    The same size is asked for the whole read (page numbers and offsets stay consistent); a cap
    learned during the read only changes what counts as a full page, and what the next read asks.
    """

    def __init__(
        self,
        wanted: int,
        endpoint: str = "",
        caps: PageCaps | None = None,
        wider: Callable[[int], int] | None = None,
    ) -> None:
        """`wider(asked)`: for a filtered read (a start date, a modification time), how many rows
        page 1 of the same list holds without the filter. A short page is then proven by that
        call instead of by the next page: a wider page of more rows shows the server fills pages
        bigger than the short one, and teaches the next reads as much (they need no proof)."""
        self.endpoint = endpoint
        self.caps = caps if caps is not None else PageCaps()
        self.asked = self.caps.ask(endpoint, wanted)
        self._wider = wider
        self._pending: int | None = None  # rows of a short page not yet known to be the last
        self._probed = False  # one page was read past a short one and brought nothing new

    def ends_read(self, rows: int, more: bool | None = None, new_rows: int | None = None) -> bool:
        """`more`: what pagination metadata says (None when the answer carries none);
        `new_rows`: how many of the rows this read had not seen (when a page can repeat some)."""
        known = self.caps.get(self.endpoint)
        if self._pending is not None:
            if (rows if new_rows is None else new_rows) > 0:  # the short page was a silent cap
                self.caps.learn(self.endpoint, cap=self._pending)
                known = self.caps.get(self.endpoint)
            else:
                self.caps.wasted(self.endpoint)
                self._probed = True
            self._pending = None
        full = min(self.asked, known.cap) if known.cap else self.asked
        self.caps.learn(self.endpoint, page=rows)
        if more is not None:
            if more and 0 < rows < full:
                self.caps.learn(self.endpoint, cap=rows)
            return not more or rows == 0
        if rows == 0:
            return True
        if rows >= full:
            return False
        if known.cap is not None or rows < known.largest or self._probed:
            # The server is known to fill bigger pages, or this read already looked past a
            # short page and found nothing new (at most one extra call per read): the last.
            return True
        if self._wider is not None and not self._probed:
            self._probed = True  # one proof per read: this call, or else the next page
            self.caps.wasted(self.endpoint)
            wider = self._wider(self.asked)
            self.caps.learn(self.endpoint, page=wider)
            if wider > rows:
                return True
        self._pending = rows  # unproven: read one more page (an empty one ends the read)
        return False


LINK_NEXT = re.compile(r'<[^>]*>\s*;\s*rel="?next"?', re.IGNORECASE)


def more_from_headers(headers: Mapping[str, str]) -> bool | None:
    """Pagination metadata in the answer's headers: a `Link: <...>; rel="next"` says more rows
    follow, its absence (with other links present) says none do; no Link header says nothing."""
    link = next((v for k, v in headers.items() if k.lower() == "link"), None)
    if link is None:
        return None
    return LINK_NEXT.search(link) is not None


Fetch = Callable[[int, int], "Sequence[T] | tuple[Sequence[T], bool | None]"]


def _rows_and_more(answer: Any) -> tuple[Sequence[Any], bool | None]:
    """A fetch returns its rows, or (rows, more) when the answer carried pagination metadata."""
    if isinstance(answer, tuple):
        return answer
    return answer, None


def by_page_number(fetch: Fetch, size: PageSize, first: int = 1) -> Iterator[Sequence[T]]:
    """`fetch(page, per_page)` from page `first` on, until a page ends the read."""
    page = first
    while True:
        rows, more = _rows_and_more(fetch(page, size.asked))
        yield rows
        if size.ends_read(len(rows), more):
            return
        page += 1


def by_offset(fetch: Fetch, size: PageSize) -> Iterator[Sequence[T]]:
    """`fetch(offset, limit)` from offset 0, advancing by the rows each page held."""
    offset = 0
    while True:
        rows, more = _rows_and_more(fetch(offset, size.asked))
        yield rows
        if size.ends_read(len(rows), more):
            return
        offset += len(rows)


def by_keyset(fetch: Callable[[K | None], T], next_key: Callable[[T], K | None]) -> Iterator[T]:
    """`fetch(after)` from the start (after=None); `next_key(page)` is None when it was the last.

    A cursor that does not move forward means the server ignored it: reading on would return the
    same page for ever, so the read fails (and stores nothing) instead. A page is let go before
    the next is read: a read holds one page at a time."""
    after: K | None = None
    while True:
        page = fetch(after)
        following = next_key(page)
        yield page
        del page
        if following is None:
            return
        if after is not None and not following > after:
            raise MalformedResponseError(
                f"keyset paging did not advance (after {after!r}, next {following!r}): "
                "the server ignores the cursor"
            )
        after = following


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
