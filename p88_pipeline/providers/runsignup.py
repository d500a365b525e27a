"""RunSignUp REST client (partner/timer keys), following PROVIDERS.md rather than any one server.

Errors arrive inside HTTP 200 bodies (sometimes wrapped in an array); error 14 is throttling.
Event times are in the race's zone, every other time is US Eastern; `last_modified` is Unix seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from p88_pipeline.providers.base import (
    AuthError,
    Event,
    FilterRejectedError,
    MalformedResponseError,
    Participant,
    ParticipantPage,
    ProviderError,
    RejectedRecord,
    Removal,
)
from p88_pipeline.providers.fields import int_or_none, parse_money, text_or_none
from p88_pipeline.providers.http import ApiSession, RetryableBody
from p88_pipeline.providers.timeparse import (
    EASTERN,
    from_unix,
    parse_date,
    parse_local,
    to_unix,
    zone,
)

PROVIDER = "runsignup"
RACES_PAGE_MAX = 1000
PARTICIPANTS_PAGE_MAX = 2500
THROTTLED = 14
TRANSIENT = {4, 5}  # unknown error, database error
AUTH = {6, 7}
FILTER = {3, 9}  # invalid parameters, invalid date: the filter may be what was refused


def find_error(body: Any) -> dict | None:
    """The `{"error": {...}}` object of a body, bare or wrapped in a one-element array."""
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return None


def check_body(body: Any, *, filtered: bool = False) -> None:
    error = find_error(body)
    if error is None:
        return
    code = int_or_none(error.get("error_code"))
    message = f"RunSignUp error {code}: {error.get('error_msg', '')}"
    if code == THROTTLED:
        raise RetryableBody(message, throttled=True)
    if code in TRANSIENT:
        raise RetryableBody(message)
    if code in AUTH:
        raise AuthError(message, code=code)
    if filtered and code in FILTER:
        raise FilterRejectedError(message, code=code)
    raise ProviderError(message, code=code)


def _record_id(raw: Any) -> str | None:
    """The registration id of an unreadable record, when it still has one."""
    return text_or_none(raw.get("registration_id")) if isinstance(raw, dict) else None


def parse_event(race: dict, raw: dict) -> Event:
    tz_name = race.get("timezone") or "America/New_York"
    tz = zone(tz_name)
    return Event(
        provider=PROVIDER,
        event_id=str(raw["event_id"]),
        race_id=str(race["race_id"]),
        name=str(raw.get("name") or ""),
        start_time=parse_local(raw.get("start_time"), tz),
        end_time=parse_local(raw.get("end_time"), tz),
        timezone=tz_name,
        race_name=str(race.get("name") or ""),
        raw={**raw, "race_timezone": tz_name},
    )


def parse_participant(raw: Any, event_id: str | None) -> Participant:
    """Raises ValueError/KeyError/TypeError for a record we must quarantine."""
    user = raw.get("user") or {}
    registration_id = text_or_none(raw.get("registration_id"))
    if registration_id is None:
        raise ValueError("missing registration_id")
    own_event = text_or_none(raw.get("event_id")) or event_id
    if own_event is None:
        raise ValueError("missing event_id")
    if raw.get("last_modified") in (None, ""):
        raise ValueError("missing last_modified")
    dob = parse_date(user.get("dob"))
    age = int_or_none(raw.get("age"))
    return Participant(
        provider=PROVIDER,
        event_id=own_event,
        participant_id=registration_id,
        modified_at=from_unix(raw["last_modified"]),
        first_name=text_or_none(user.get("first_name")),
        last_name=text_or_none(user.get("last_name")),
        email=text_or_none(user.get("email")),
        dob=dob.isoformat() if dob else None,
        gender=text_or_none(user.get("gender")),
        bib=text_or_none(raw.get("bib_num")),
        chip=text_or_none(raw.get("chip_num")),
        age=age,
        registered_at=parse_local(raw.get("registration_date"), EASTERN),
        team=text_or_none(raw.get("team_name")),
        amount_paid=parse_money(raw.get("amount_paid")),
        raw=raw,
    )


def parse_removal(raw: dict, event_id: str) -> Removal:
    registration_id = text_or_none(raw.get("registration_id"))
    if registration_id is None:
        raise ValueError("missing registration_id")
    if raw.get("last_modified_ts") not in (None, ""):
        removed_at = from_unix(raw["last_modified_ts"])
    else:
        removed_at = parse_local(raw.get("last_modified") or raw.get("removed_date"), EASTERN)
        if removed_at is None:
            raise ValueError("missing removal time")
    return Removal(
        provider=PROVIDER,
        event_id=text_or_none(raw.get("event_id")) or event_id,
        participant_id=registration_id,
        removed_at=removed_at,
        reason=str(raw.get("removed_reason") or raw.get("reason") or "removed"),
        raw=raw,
    )


def next_keyset(
    per_event_ids: dict[str, list[int]], page_size: int, counts: dict[str, int] | None = None
) -> int | None:
    """Where the next page starts, or None when the read is complete.

    Whether the page size applies per event or to the whole multi-event answer is undocumented;
    both readings give the same answer here, re-reading at most a few ids (upserts absorb them).
    `counts` are the records each event block held: a full page whose records are not all
    readable (one without an id) is still full, and the read goes on after its last id.
    """
    counts = counts or {e: len(ids) for e, ids in per_event_ids.items()}
    everything = [i for ids in per_event_ids.values() for i in ids]
    full = [e for e in per_event_ids if counts[e] >= page_size]
    if any(not per_event_ids[e] for e in full) or (
        sum(counts.values()) >= page_size and not everything
    ):
        raise MalformedResponseError("a full page without a readable registration_id")
    if full:
        return min(per_event_ids[e][-1] for e in full)
    if sum(counts.values()) >= page_size:
        return max(everything)
    return None


class RunSignUpClient:
    provider = PROVIDER

    def __init__(
        self,
        session: ApiSession,
        base_url: str,
        api_key: str,
        api_secret: str,
        page_size: int = PARTICIPANTS_PAGE_MAX,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.page_size = min(page_size, PARTICIPANTS_PAGE_MAX)
        self._auth = {"format": "json", "api_key": api_key, "api_secret": api_secret}
        session.add_secret(api_key)
        session.add_secret(api_secret)

    @property
    def calls(self) -> int:
        return self.session.calls

    def server_time(self) -> datetime | None:
        return self.session.last_server_time

    def _get(self, path: str, params: dict[str, Any], *, filtered: bool = False) -> Any:
        return self.session.request_json(
            "GET",
            f"{self.base_url}{path}",
            params={**self._auth, **params},
            check_body=lambda body: check_body(body, filtered=filtered),
        )

    def list_events(self) -> Iterator[Event]:
        page = 1
        while True:
            body = self._get(
                "/races",
                {
                    "events": "T",
                    "page": page,
                    "results_per_page": RACES_PAGE_MAX,
                    "only_partner_races": "T",
                    "sort": "date ASC",
                },
            )
            races = body.get("races") if isinstance(body, dict) else None
            if not isinstance(races, list):
                raise MalformedResponseError(f"races page {page}: no 'races' list in the answer")
            for item in races:
                race = item.get("race", item) if isinstance(item, dict) else None
                if not isinstance(race, dict) or "race_id" not in race:
                    raise MalformedResponseError(f"races page {page}: a race without race_id")
                for raw_event in race.get("events") or []:
                    yield parse_event(race, raw_event)
            if len(races) < RACES_PAGE_MAX:
                return
            page += 1

    def _paged(
        self, path: str, events: Sequence[Event], modified_after: datetime | None
    ) -> Iterator[tuple[str, list]]:
        """Keyset-paged (after_registration_id) reads of one race's events: (event_id, records)."""
        params: dict[str, Any] = {
            "event_id": ",".join(e.event_id for e in events),
            "results_per_page": self.page_size,
            "sort": "registration_id ASC",
            "page": 1,
        }
        if modified_after is not None:
            params["modified_after_timestamp"] = to_unix(modified_after)
        after: int | None = None
        while True:
            if after is not None:
                params["after_registration_id"] = after
            body = self._get(path, params, filtered=modified_after is not None)
            if not isinstance(body, list):
                raise MalformedResponseError(f"{path}: expected a list of events, got {body!r:.80}")
            per_event: dict[str, list[int]] = {}
            counts: dict[str, int] = {}
            for block in body:
                if not isinstance(block, dict):
                    raise MalformedResponseError(f"{path}: an event block is {block!r:.80}")
                event = block.get("event") or {}
                event_id = str(event.get("event_id", ""))
                records = block.get("participants") or event.get("participants") or []
                ids = sorted(
                    n
                    for n in (
                        int_or_none(r.get("registration_id"))
                        for r in records
                        if isinstance(r, dict)
                    )
                    if n is not None
                )
                per_event[event_id] = ids
                counts[event_id] = len(records)
                yield event_id, records
            after = next_keyset(per_event, self.page_size, counts)
            if after is None:
                return

    def iter_participant_pages(
        self, events: Sequence[Event], modified_after: datetime | None
    ) -> Iterator[ParticipantPage]:
        race_id = events[0].race_id
        for event_id, records in self._paged(
            f"/race/{race_id}/participants", events, modified_after
        ):
            page = ParticipantPage()
            for raw in records:
                try:
                    page.participants.append(parse_participant(raw, event_id or None))
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    page.rejected.append(
                        RejectedRecord(PROVIDER, event_id, str(exc), raw, _record_id(raw))
                    )
            yield page

    def iter_removals(
        self, events: Sequence[Event], modified_after: datetime
    ) -> Iterator[ParticipantPage]:
        race_id = events[0].race_id
        for event_id, records in self._paged(
            f"/race/{race_id}/removed-participants", events, modified_after
        ):
            page = ParticipantPage()
            for raw in records:
                try:
                    page.removals.append(parse_removal(raw, event_id))
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    page.rejected.append(RejectedRecord(PROVIDER, event_id, str(exc), raw))
            yield page
