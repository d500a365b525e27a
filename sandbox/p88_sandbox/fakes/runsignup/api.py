"""RunSignUp, as PROVIDERS.md describes it: /races, participants and removed-participants.

Errors are HTTP 200 with an error body (some wrapped in a one-element array), booleans "T"/"F",
money "$55.00", slashes escaped. Paging is per event block; the filter is "modified on or after".
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from p88_sandbox.fakes.runsignup.records import (
    RecordShape,
    participant_record,
    removed_record,
)
from p88_sandbox.generate import EventState
from p88_sandbox.view import WorldView
from p88_sandbox.wire import (
    Request,
    Response,
    int_param,
    json_response,
    money,
    rsu_date,
    rsu_datetime,
    text_response,
    tf,
)

PROVIDER = "runsignup"
RACE_PATH = re.compile(r"^/[Rr]est/race/([^/]+)/(participants|removed-participants)/?$")
MESSAGES = {
    3: "Invalid parameters",
    6: "Key authentication failed.",
    7: "Permission denied.",
    9: "Invalid date",
    14: "Request throttled.",
    201: "Race not found.",
    223: "Event id not valid.",
    301: "Event not found.",
}


class ApiError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail or MESSAGES.get(code, "Error"))
        self.code = code


@dataclass
class RunSignUpSettings:
    """What PROVIDERS.md leaves open about RunSignUp, as knobs."""

    max_results_per_page: int = 2500
    max_races_per_page: int = 1000
    silent_cap: int | None = None  # every list endpoint returns at most N rows, saying nothing
    pagination_links: bool = False  # a `Link` header: rel="next" while more rows follow
    nb_needs_flag: bool = True  # gender X only for clients that send supports_nb=T
    error_array_every: int = 3  # every Nth error body comes as [{"error": ...}]; 0 never


class RunSignUpApi:
    provider = PROVIDER
    prefixes = ("/Rest/", "/rest/")

    def __init__(self, world: WorldView, config: RunSignUpSettings) -> None:
        self.world = world
        self.config = config
        self.records = RecordShape()
        self._errors = 0

    def account(self, server_url: str) -> dict[str, str]:
        """partners.yaml settings of an account on this fake."""
        return {"base_url": f"{server_url}/Rest"}

    def open_call(self, request: Request) -> tuple[str | None, Response] | None:
        return None  # every call carries the keys

    def error_in_array(self, code: int) -> Response:
        return self.error(code, "Database error.", wrap=True)

    def bad_request(self) -> Response:
        """The call's parameters refused: error 3 in a 200 body."""
        return self.error(3)

    # ---------------------------------------------------------------- plumbing
    def error(self, code: int, detail: str = "", *, wrap: bool | None = None) -> Response:
        """HTTP 200 with {"error": {...}}; every Nth one (configurable) inside a list."""
        self._errors += 1
        every = self.config.error_array_every
        if wrap is None:
            wrap = every > 0 and self._errors % every == 0
        body: Any = {"error": {"error_code": code, "error_msg": detail or MESSAGES.get(code, "")}}
        return json_response([body] if wrap else body, escape_slashes=True, error_code=code)

    def authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        keys = {k: request.params.get(k) for k in ("api_key", "api_secret")}
        partner = self.world.partner_for(PROVIDER, keys)
        if partner is None:
            return None, self.error(6)
        return partner.slug, None

    def throttled(self, retry_after: int) -> Response:
        return self.error(14, wrap=False)

    def handle(self, request: Request, partner_slug: str) -> Response:
        if request.params.get("format", "xml").lower() != "json":
            return text_response(
                200,
                '<?xml version="1.0" encoding="UTF-8"?>\n<response>'
                "<note>XML output is not simulated: send format=json</note>"
                "</response>",
                "application/xml",
            )
        try:
            path = request.path
            if re.match(r"^/[Rr]est/races/?$", path):
                races, more = self.races(request.params, partner_slug)
                return json_response(races, escape_slashes=True, headers=self.links(more))
            found = RACE_PATH.match(path)
            if found is None:
                return text_response(404, "<html><body>Not Found</body></html>", "text/html")
            events = self.race_events(found.group(1), partner_slug)
            selected = self.selected_events(events, request.params)
            removed = found.group(2) == "removed-participants"
            with self.world.lock:
                blocks, more = self.participants(selected, request.params, removed)
            return json_response(blocks, escape_slashes=True, headers=self.links(more))
        except ApiError as exc:
            return self.error(exc.code, str(exc))

    def links(self, more: bool) -> dict[str, str]:
        """Pagination metadata, when switched on: a next link while more rows follow."""
        if not self.config.pagination_links:
            return {}
        return {"Link": '<?page=next>; rel="next"' if more else '<?page=1>; rel="first"'}

    def page_size(self, asked: int, maximum: int) -> int:
        cap = self.config.silent_cap
        return min(asked, maximum, cap) if cap else min(asked, maximum)

    # ---------------------------------------------------------------- /races
    def races(self, params: dict[str, str], partner_slug: str) -> tuple[dict[str, Any], bool]:
        try:
            page = int_param(params, "page", 1) or 1
            per_page = int_param(params, "results_per_page", 50) or 50
        except ValueError as exc:
            raise ApiError(3, str(exc)) from None
        if page < 1 or per_page < 1:
            raise ApiError(3, "page and results_per_page must be positive")
        per_page = self.page_size(per_page, self.config.max_races_per_page)
        start, end = _date_param(params, "start_date"), _date_param(params, "end_date")
        own = params.get("only_partner_races", "F").upper() == "T"
        groups: dict[int, list[EventState]] = {}
        for e in self.world.event_states(PROVIDER, partner_slug if own else None):
            groups.setdefault(e.race_id, []).append(e)
        races = []
        for race_id, events in groups.items():
            day = events[0].start.astimezone(ZoneInfo(events[0].timezone)).date()
            if (start and day < start) or (end and day > end):
                continue
            races.append((day, race_id, events))
        descending = params.get("sort", "date ASC").strip().upper().endswith("DESC")
        races.sort(key=lambda r: (r[0], r[1]), reverse=descending)
        chunk = races[(page - 1) * per_page : page * per_page]
        with_events = params.get("events", "F").upper() == "T"
        more = len(races) > page * per_page
        return {"races": [{"race": self.race(events, with_events)} for _, _, events in chunk]}, more

    def race(self, events: list[EventState], with_events: bool) -> dict[str, Any]:
        first = events[0]
        zone = ZoneInfo(first.timezone)
        day = first.start.astimezone(zone).date()
        end_day = max((e.end or e.start) for e in events).astimezone(zone).date()
        now = self.world.clock.now()
        past = first.start <= now
        race: dict[str, Any] = {
            "race_id": first.race_id,
            "name": first.race_name,
            "last_date": rsu_date(day if past else day - timedelta(days=364)),
            "last_end_date": rsu_date(end_day if past else end_day - timedelta(days=364)),
            "next_date": rsu_date(day),
            "next_end_date": rsu_date(end_day),
            "is_draft_race": "F",
            "is_private_race": "F",
            "is_registration_open": tf(not past and first.registration_opens <= now),
            "created": rsu_datetime(first.created),
            "last_modified": rsu_datetime(first.created + timedelta(hours=3)),
            "description": f"<p>The {first.race_name}: fast/flat course.</p>",
            "url": f"https://runsignup.com/Race/{first.state}/{first.city}/Race{first.race_id}",
            "external_race_url": None,
            "timezone": first.timezone,
            "address": {
                "street": "1 Start Line Way",
                "street2": None,
                "city": first.city,
                "state": first.state,
                "zipcode": "00000",
                "country_code": "US",
            },
        }
        if with_events:
            race["events"] = [self.event(e) for e in events]
        return race

    def event(self, e: EventState) -> dict[str, Any]:
        zone = ZoneInfo(e.timezone)
        return {
            "event_id": e.event_id,
            "race_event_days_id": e.race_id * 10 + 1,
            "name": e.name,
            "details": None,
            "start_time": rsu_datetime(e.start, zone),
            "end_time": None if e.end is None else rsu_datetime(e.end, zone),
            "age_calc_base_date": None,
            "registration_opens": rsu_datetime(e.registration_opens, zone),
            "event_type": "running_race",
            "distance": e.distance,
            "volunteer": "F",
            "require_dob": "T",
            "require_phone": "F",
            "participant_cap": None,
            "registration_periods": [
                {
                    "registration_opens": rsu_datetime(e.registration_opens, zone),
                    "registration_closes": rsu_datetime(e.start - timedelta(hours=12), zone),
                    "race_fee": money(e.fee_cents),
                    "processing_fee": money(e.fee_cents * 6 // 100),
                }
            ],
        }

    # ---------------------------------------------------------------- participants
    def race_events(self, raw_race_id: str, partner_slug: str) -> list[EventState]:
        try:
            race_id = int(raw_race_id)
        except ValueError:
            raise ApiError(201) from None
        events = self.world.race_events(PROVIDER, race_id)
        if not events:
            raise ApiError(201)
        if events[0].partner_slug != partner_slug:
            raise ApiError(7, "Permission denied: not your race.")
        return events

    def selected_events(
        self,
        events: list[EventState],
        params: dict[str, str],
    ) -> list[EventState]:
        raw = params.get("event_id", "").strip()
        if not raw:
            raise ApiError(3, "Invalid parameters: event_id is required.")
        by_id = {e.event_id: e for e in events}
        chosen = []
        for part in raw.split(","):
            try:
                event_id = int(part.strip())
            except ValueError:
                raise ApiError(223, f"Event id not valid: {part!r}") from None
            if event_id not in by_id:
                raise ApiError(301, f"Event {event_id} not found in this race.")
            if by_id[event_id] not in chosen:
                chosen.append(by_id[event_id])
        return chosen

    def _sorted_ids(self, event: EventState, removed: bool) -> list[int]:
        """Ascending ids, cached per world version: a client pages one event with many calls."""
        cache: dict[tuple, list[int]] = self.__dict__.setdefault("_id_cache", {})
        key = (event.event_id, removed, self.world.version)
        if key not in cache:
            if len(cache) > 256:
                cache.clear()
            cache[key] = sorted(event.removed) if removed else sorted(self.world.active_ids(event))
        return cache[key]

    def _page_ids(
        self,
        event: EventState,
        removed: bool,
        descending: bool,
        after: int | None,
        since: datetime | None,
        skip: int,
        size: int,
    ) -> list[int]:
        """One page: keyset start found by bisection, the filter applied only as far as needed."""
        ids = self._sorted_ids(event, removed)
        if descending:
            end = len(ids) if after is None else bisect.bisect_left(ids, after)
            candidates: Iterable[int] = reversed(ids[:end])
        else:
            start = 0 if after is None else bisect.bisect_right(ids, after)
            candidates = itertools.islice(ids, start, None)
        if since is None:
            return _select(candidates, lambda _: True, skip, size)
        return _select(candidates, lambda i: self.world.modified_at(event, i) >= since, skip, size)

    def participants(
        self, events: list[EventState], params: dict[str, str], removed: bool
    ) -> tuple[list[dict[str, Any]], bool]:
        try:
            page = int_param(params, "page", 1) or 1
            per_page = int_param(params, "results_per_page", 50) or 50
            after = int_param(params, "after_registration_id")
        except ValueError as exc:
            raise ApiError(3, str(exc)) from None
        try:
            since_ts = int_param(params, "modified_after_timestamp")
        except ValueError:
            raise ApiError(9, "modified_after_timestamp must be Unix seconds") from None
        if page < 1 or per_page < 1:
            raise ApiError(3, "page and results_per_page must be positive")
        per_page = self.page_size(per_page, self.config.max_results_per_page)
        nb = params.get("supports_nb", "F").upper() == "T" or not self.config.nb_needs_flag
        since = None if since_ts is None else datetime.fromtimestamp(since_ts, UTC)
        descending = params.get("sort", "registration_id ASC").strip().upper().endswith("DESC")
        blocks, more = [], False
        for event in events:
            chunk = self._page_ids(
                event, removed, descending, after, since, (page - 1) * per_page, per_page + 1
            )
            more = more or len(chunk) > per_page
            chunk = chunk[:per_page]
            regs = [self.world.registration(event, pid) for pid in chunk]
            if removed:
                blocks.append(
                    {
                        "event": {
                            "event_id": event.event_id,
                            "participants": [removed_record(r) for r in regs],
                        }
                    }
                )
            else:
                blocks.append(
                    {
                        "event": {"event_id": event.event_id, "participants": []},
                        "participants": [participant_record(r, nb) for r in regs],
                    }
                )
        return blocks, more


def _select(ids: Iterable[int], keep: Callable[[int], bool], skip: int, size: int) -> list[int]:
    chunk: list[int] = []
    for pid in ids:
        if not keep(pid):
            continue
        if skip:
            skip -= 1
            continue
        chunk.append(pid)
        if len(chunk) >= size:
            break
    return chunk


def _date_param(params: dict[str, str], name: str) -> date | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(9, f"{name} must be YYYY-mm-dd") from None
