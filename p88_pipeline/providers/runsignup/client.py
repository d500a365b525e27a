"""RunSignUp REST client (partner/timer keys), following PROVIDERS.md rather than any one server.

Errors arrive inside HTTP 200 bodies (sometimes wrapped in an array); error 14 is throttling.
Participants are read per race, several event ids per call, keyset-paged by registration id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from p88_pipeline.providers.base import (
    Event,
    MalformedResponseError,
    ParticipantPage,
)
from p88_pipeline.providers.http import Answer, ApiSession
from p88_pipeline.providers.paging import (
    PageSize,
    by_keyset,
    by_page_number,
    more_from_headers,
    parse_or_reject,
)
from p88_pipeline.providers.runsignup.answers import check_body, next_keyset
from p88_pipeline.providers.runsignup.records import (
    PROVIDER,
    parse_event,
    parse_page_record,
    parse_removal,
    parsed_while_decoded,
    record_id,
    registration_id,
)
from p88_pipeline.providers.session_client import SessionClient
from p88_pipeline.providers.spec import AccountSettings
from p88_pipeline.providers.timeparse import EASTERN, to_unix

RACES_PAGE_MAX = 1000
PARTICIPANTS_PAGE_MAX = 2500
REMOVED_PAGE_SIZE = 1000  # undocumented maximum: what a public client uses, then learned
# Documented maxima (None: undocumented, learned per account; a short page is not trusted).
DOCUMENTED_CAPS = {
    "races": RACES_PAGE_MAX,
    "participants": PARTICIPANTS_PAGE_MAX,
    "removed-participants": None,
}
GRACE = timedelta(days=1)  # the sync's default grace window: races this recent still count
LISTED_MARGIN = timedelta(days=1)  # zones down to UTC-12, a race begun the day before


@dataclass(frozen=True)
class RunSignUpOptions:
    """How a RunSignUp account is read (partners.yaml `page_size` and options)."""

    page_size: int = PARTICIPANTS_PAGE_MAX
    removed_page_size: int = REMOVED_PAGE_SIZE
    only_partner_races: bool = True
    grace: timedelta = GRACE


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RaceList:
    """One of a race's lists as a read asks for it: participants or removed-participants, the
    page size wanted (its cap learned as `endpoint`), the modification cutoff, and json's
    object_hook to parse records while a page is decoded."""

    path: str
    endpoint: str
    wanted: int
    since: datetime | None = None
    record_hook: Callable[[dict], Any] | None = None


class RunSignUpClient(SessionClient[RunSignUpOptions]):
    provider = PROVIDER
    documented_caps = DOCUMENTED_CAPS
    default_options = RunSignUpOptions()
    clock: Callable[[], datetime] = staticmethod(_now)  # which day it is, for the races list

    def configure(self, keys: Mapping[str, str]) -> None:
        """`keys`: the account's `api_key` and `api_secret` (values, from the environment)."""
        session, options = self.session, self.options
        self.page_size = min(options.page_size, PARTICIPANTS_PAGE_MAX)
        self.removed_page_size = max(1, options.removed_page_size)
        self.only_partner_races = options.only_partner_races
        self.grace = options.grace
        api_key, api_secret = keys["api_key"], keys["api_secret"]
        self._auth = {"format": "json", "api_key": api_key, "api_secret": api_secret}
        session.add_secret(api_key)
        session.add_secret(api_secret)

    @classmethod
    def from_account(
        cls, session: ApiSession, account: AccountSettings, creds: Mapping[str, str]
    ) -> RunSignUpClient:
        options = account.options
        return cls(
            session,
            account.base_url,
            creds,
            RunSignUpOptions(
                page_size=account.page_size or PARTICIPANTS_PAGE_MAX,
                removed_page_size=int(options.get("removed_page_size") or REMOVED_PAGE_SIZE),
                only_partner_races=_flag(options.get("only_partner_races", True)),
            ),
        )

    def _get(
        self,
        path: str,
        params: dict[str, Any],
        headers: dict[str, str],
        *,
        filtered: bool = False,
        object_hook: Callable[[dict], Any] | None = None,
    ) -> Any:
        """`headers` receives the answer's headers (the races list's paging, the keyset)."""
        return self.session.request_json(
            "GET",
            f"{self.base_url}{path}",
            params={**self._auth, **params},
            answer=Answer(
                check_body=lambda body: check_body(
                    body, filtered=filtered, race_call=path.startswith("/race/")
                ),
                headers=headers,
                object_hook=object_hook,
            ),
        )

    def races_start_date(self) -> str:
        """Races on or after this day (server-side): today in US Eastern minus the grace window.
        The client-side future filter (the sync's rule 1) still decides what is future."""
        return (self.clock().astimezone(EASTERN) - self.grace).date().isoformat()

    def listed_from(self) -> datetime:
        """The races list is complete only for events starting at or after this instant: a race
        is listed by its local day, in any zone, and a multi-day race by its first day, so the
        start_date's midnight UTC plus LISTED_MARGIN. Older events that vanish are not gone."""
        start = datetime.fromisoformat(self.races_start_date()).replace(tzinfo=UTC)
        return start + LISTED_MARGIN

    def races_page(self, page: int, per_page: int, dated: bool = True) -> tuple[list, bool | None]:
        """`dated=False`: every race of the partner, past ones too, without their events (what
        a short page of the dated list is proven by, see PageSize's `wider`)."""
        headers: dict[str, str] = {}
        params = {"events": "T" if dated else "F", "page": page, "results_per_page": per_page}
        if dated:
            params["start_date"] = self.races_start_date()
        params["sort"] = "date ASC"
        if self.only_partner_races:
            params["only_partner_races"] = "T"
        body = self._get("/races", params, headers)
        races = body.get("races") if isinstance(body, dict) else None
        if not isinstance(races, list):
            raise MalformedResponseError(f"races page {page}: no 'races' list in the answer")
        return races, more_from_headers(headers)

    def list_events(self) -> Iterator[Event]:
        def undated(asked: int) -> int:
            return len(self.races_page(1, asked, dated=False)[0])

        size = PageSize(RACES_PAGE_MAX, "races", self.caps, wider=undated)
        for races in by_page_number(self.races_page, size):
            for item in races:
                race = item.get("race", item) if isinstance(item, dict) else None
                if not isinstance(race, dict) or "race_id" not in race:
                    raise MalformedResponseError("races page: a race without race_id")
                for raw_event in race.get("events") or []:
                    yield parse_event(race, raw_event)

    def participants_list(self, race_id: str, since: datetime | None = None) -> RaceList:
        path = f"/race/{race_id}/participants"
        return RaceList(path, "participants", self.page_size, since)

    def removals_list(self, race_id: str, since: datetime | None = None) -> RaceList:
        path = f"/race/{race_id}/removed-participants"
        return RaceList(path, "removed-participants", self.removed_page_size, since)

    def participants_page(
        self,
        listing: RaceList,
        event_ids: Sequence[str],
        per_page: int,
        after: int | None = None,
    ) -> tuple[list[tuple[str, list]], bool | None]:
        """One page of a race's participants or removed-participants: (event_id, records) per
        event block, and what pagination metadata says (None: the answer carries none)."""
        path, modified_after = listing.path, listing.since
        params: dict[str, Any] = {
            "event_id": ",".join(event_ids),
            "results_per_page": per_page,
            "sort": "registration_id ASC",
            "supports_nb": "T",
            "page": 1,
        }
        if modified_after is not None:
            params["modified_after_timestamp"] = to_unix(modified_after)
        if after is not None:
            params["after_registration_id"] = after
        headers: dict[str, str] = {}
        filtered = modified_after is not None
        body = self._get(path, params, headers, filtered=filtered, object_hook=listing.record_hook)
        if not isinstance(body, list):
            raise MalformedResponseError(f"{path}: expected a list of events, got {body!r:.80}")
        blocks = []
        for block in body:
            if not isinstance(block, dict):
                raise MalformedResponseError(f"{path}: an event block is {block!r:.80}")
            event = block.get("event") or {}
            records = block.get("participants") or event.get("participants") or []
            blocks.append((str(event.get("event_id", "")), records))
        return blocks, more_from_headers(headers)

    def _paged(
        self,
        listing: RaceList,
        events: Sequence[Event],
        parse: Callable[[str, list], ParticipantPage],
    ) -> Iterator[ParticipantPage]:
        """Keyset-paged (after_registration_id) reads of one race's events, parsed per event block.

        The quirk: one call answers for several events, each in its own block, and where the
        next page starts depends on every block (`next_keyset`): a block of higher ids is read
        again while a lower one goes on, so how full a page was counts every record, but only
        records not seen before in this read are evidence that a short page was not the last.
        A page is parsed as soon as it arrives, so its dicts are gone before the next is asked.
        """
        size = PageSize(listing.wanted, listing.endpoint, self.caps)
        event_ids = [e.event_id for e in events]
        seen: set[int] = set()

        def fetch(after: int | None) -> tuple[list[_Block], bool | None]:
            blocks, more = self.participants_page(listing, event_ids, size.asked, after)
            return [_Block.read(e, records, parse, seen) for e, records in blocks], more

        def next_key(page: tuple[list[_Block], bool | None]) -> int | None:
            blocks, more = page
            per_event: dict[str, list[int]] = {}
            fresh: dict[str, int] = {}
            for block in blocks:
                per_event[block.event_id] = sorted(n for n in block.ids if n is not None)
                fresh[block.event_id] = sum(1 for n in block.ids if n is None or n not in seen)
                seen.update(n for n in block.ids if n is not None)
            counts = {block.event_id: len(block.ids) for block in blocks}
            fill = max(counts.values(), default=0)
            if sum(counts.values()) >= size.asked > fill:
                fill = size.asked  # the whole answer is one full page (the other reading)
            if size.ends_read(fill, more, new_rows=sum(fresh.values())):
                return None
            after = next_keyset(per_event, max(1, fill), counts)
            if after is not None:
                # Only ids past the cursor can come again: what the read remembers stays a page.
                seen.intersection_update([n for n in seen if n > after])
            return after

        for blocks, _ in by_keyset(fetch, next_key):
            while blocks:  # handed over one by one: none is kept while the next page is read
                yield blocks.pop(0).page

    def iter_participant_pages(
        self, events: Sequence[Event], modified_after: datetime | None
    ) -> Iterator[ParticipantPage]:
        def parse(event_id: str, records: list) -> ParticipantPage:
            good, rejected = parse_or_reject(
                records,
                lambda raw: parse_page_record(raw, event_id or None),
                provider=PROVIDER,
                event_id=event_id,
                id_of=record_id,
            )
            return ParticipantPage(participants=good, rejected=rejected)

        # Records parsed while the page is decoded: a page's dicts never exist all at once.
        listing = self.participants_list(events[0].race_id, modified_after)
        yield from self._paged(replace(listing, record_hook=parsed_while_decoded), events, parse)

    def iter_removals(
        self, events: Sequence[Event], modified_after: datetime
    ) -> Iterator[ParticipantPage]:
        def parse(event_id: str, records: list) -> ParticipantPage:
            good, rejected = parse_or_reject(
                records,
                lambda raw: parse_removal(raw, event_id),
                provider=PROVIDER,
                event_id=event_id,
            )
            return ParticipantPage(removals=good, rejected=rejected)

        yield from self._paged(self.removals_list(events[0].race_id, modified_after), events, parse)


@dataclass(frozen=True)
class _Block:
    """One event's block of a keyset page: its registration ids (what paging needs) and its
    parsed records, without the dicts they were read from and without the records this read
    returned before (a block of higher ids is read again while a lower one goes on). The copy
    read first is kept: a change between the two reads is after the group's watermark, so the
    next run brings it, and the writer's first load meets no registration twice."""

    event_id: str
    ids: list[int | None]
    page: ParticipantPage

    @classmethod
    def read(
        cls,
        event_id: str,
        records: list,
        parse: Callable[[str, list], ParticipantPage],
        read_before: set[int],
    ) -> _Block:
        ids = [registration_id(r) for r in records]
        new = [r for r, n in zip(records, ids, strict=True) if n is None or n not in read_before]
        return cls(event_id, ids, parse(event_id, new))


def _flag(value: Any) -> bool:
    """partners.yaml booleans: true/false, or RunSignUp's own "T"/"F"."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "t", "yes", "1")
    return bool(value)
