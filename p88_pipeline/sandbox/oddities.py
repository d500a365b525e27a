"""Record-level faults: odd-but-valid values, invalid records, and pages that shift while paging.

Real registration data carries what a careless pipeline mangles: quotes, backslashes, SQL-looking
and control characters in names, null or zero-padded bibs, ids as strings, far-past and far-future
dates, times just before midnight in one zone and after it in UTC. Each kind keeps the sandbox's
truth equal to what the API serves:

- `odd_records` writes odd values into the *world* (a real modification, stamped now) for a few
  records of the served page, then serves the page again with render-only oddities (ids as strings
  or ints) that leave the truth unchanged. The warehouse must store them exactly.
- `invalid_records` adds records no client can read (no id, impossible dates, not an object) to
  the served page. They are not in the world, so the truth excludes them; a full RunSignUp page
  stays `results_per_page` long (what it pushes out comes on the next keyset page).
- `shift_pages` adds, removes and modifies registrations of the requested events just before the
  page is computed: the next page is read from a world that moved under the paging client.
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from p88_pipeline.sandbox.generate import FIRST, mix
from p88_pipeline.sandbox.wire import Request, Response, int_param, json_response
from p88_pipeline.sandbox.world import World

EASTERN = ZoneInfo("America/New_York")
ODD_PER_PAGE = 3
EVENT_IN_PATH = re.compile(r"/(?:race|events)/([^/]+)/participants/?$")


@dataclass(frozen=True)
class OddProfile:
    """Field values written into the world; `registered_local` is US Eastern wall-clock time."""

    fields: dict[str, Any]
    registered_local: datetime | None = None


PROFILES: tuple[OddProfile, ...] = (
    OddProfile({"first_name": "Zoë", "last_name": "Ñúñez-O'Brien", "bib": None}),
    OddProfile(
        {
            "first_name": "Robert');DROP/**/TABLE/**/participants;--",
            "last_name": "Tables",
            "email": "bobby'--@example.com",
            "team_name": "'; DELETE FROM sync_watermarks;--",
        }
    ),
    OddProfile(
        {"first_name": "Back\\slash", "last_name": "C:\\new\\N", "bib": "007"},
        datetime(2025, 12, 31, 23, 59),
    ),  # Eastern New Year's Eve = 04:59 UTC Jan 1
    OddProfile(
        {"first_name": "Bell\x07Esc\x1b[31m", "last_name": "Del\x7fRub", "chip": "\x01\x02"}
    ),
    OddProfile(
        {"first_name": "😀\u200d🏃", "last_name": "田中 太郎", "dob": "1900-01-01"},
        datetime(1970, 1, 1, 0, 0),
    ),  # far past
    OddProfile(
        {"first_name": "Zero\u200bWidth", "last_name": "\u202eTfel", "dob": "2099-12-31"},
        datetime(2099, 12, 31, 23, 30),
    ),  # far future, across midnight and the year
    OddProfile({"first_name": "NULL", "last_name": "null", "bib": 0, "chip": "' OR '1'='1"}),
    OddProfile(
        {
            "first_name": '"Quoted"',
            "last_name": "Percent %s %(x)s {0} $1",
            "email": '"odd,name"@example.com',
            "team_name": 'Comma, "Quote"\\x00',
        }
    ),
)


def haku_safe(profile: OddProfile) -> bool:
    """Haku sends one `person_full_name`: a first name with whitespace cannot round-trip."""
    first, last = profile.fields.get("first_name", "x"), profile.fields.get("last_name", "x")
    return first.split() == [first] and " ".join(last.split()) == last


@dataclass(frozen=True)
class Oddity:
    """One odd record written into the world: what the warehouse must now hold for it."""

    provider: str
    event_id: str
    participant_id: str
    fields: dict[str, Any]
    registered_at: datetime | None


@dataclass(frozen=True)
class InvalidRecord:
    """One unreadable record as served (never part of the truth)."""

    provider: str
    event_id: str
    problem: str
    record: Any


def _records(provider: str, body: Any) -> list[tuple[str | None, list]]:
    """(event id, mutable list of records) per event block of a participants answer."""
    if provider == "runsignup":
        if not isinstance(body, list):
            return []
        return [
            (str(b.get("event", {}).get("event_id")), b["participants"])
            for b in body
            if isinstance(b, dict) and isinstance(b.get("participants"), list)
        ]
    rows = body.get("data") if isinstance(body, dict) else body
    return [(None, rows)] if isinstance(rows, list) else []


def _id_key(provider: str) -> str:
    return "registration_id" if provider == "runsignup" else "registration_number"


class RecordFaults:
    """The record-level faults one sandbox served, kept so tests can check the warehouse exactly."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.oddities: list[Oddity] = []
        self.invalid: list[InvalidRecord] = []
        self.shifts = 0
        self._served = 0
        self._lock = threading.Lock()

    def serve(
        self, kind: str, provider: str, request: Request, answer: Callable[[], Response]
    ) -> Response:
        """Compute the page with the fault applied (called instead of `answer()`)."""
        with self._lock:
            self._served += 1
            rng = random.Random(mix(self.world.seed, 404, self._served))
        if kind == "shift_pages":
            self._shift(provider, request, rng)
            return answer()
        response = answer()
        if response.status != 200 or response.error_code is not None:
            return response
        body = json.loads(response.body)
        if kind == "odd_records":
            chosen = self._make_odd(provider, request, body, rng)
            if not chosen:
                return response
            response = answer()  # the page again, from the world that now holds the odd values
            body = json.loads(response.body)
            _render_odd(provider, body, chosen)
        else:
            self._add_invalid(provider, request, body, rng)
        return json_response(body, escape_slashes=provider == "runsignup")

    # ---------------------------------------------------------------- odd but valid
    def _make_odd(self, provider: str, request: Request, body: Any, rng: random.Random) -> set[str]:
        served = [
            (event_id or _path_event(request), str(r[_id_key(provider)]))
            for event_id, rows in _records(provider, body)
            for r in rows
            if isinstance(r, dict) and r.get(_id_key(provider)) is not None
        ]
        if provider == "haku" and int_param(request.params, "page", 1) != 1:
            return set()  # a change moves a Haku record to page 1: only odd-ify where it stays
        profiles = [p for p in PROFILES if provider != "haku" or haku_safe(p)]
        chosen = rng.sample(served, min(ODD_PER_PAGE, len(served)))
        now = self.world.clock.now().replace(microsecond=0)
        with self.world.lock:
            for event_id, pid in chosen:
                event = self.world.event_state(provider, event_id)
                if int(pid) in event.removed:
                    continue
                profile = profiles[(self._served + len(self.oddities)) % len(profiles)]
                self.world.modify_participant(provider, event_id, pid, at=now, **profile.fields)
                registered = None
                if profile.registered_local is not None:
                    registered = profile.registered_local.replace(tzinfo=EASTERN)
                    event.overlay[int(pid)]["registered_at"] = registered
                self.oddities.append(
                    Oddity(provider, event_id, pid, dict(profile.fields), registered)
                )
        return {pid for _, pid in chosen}

    # ---------------------------------------------------------------- invalid
    def _add_invalid(self, provider: str, request: Request, body: Any, rng: random.Random) -> None:
        per_page = (
            int_param(
                request.params, "results_per_page" if provider == "runsignup" else "per_page", 0
            )
            or 0
        )
        for event_id, rows in _records(provider, body):
            event_id = event_id or _path_event(request)
            template = next((r for r in rows if isinstance(r, dict)), None)
            if template is None or event_id is None:
                continue
            was_full = provider == "runsignup" and per_page > 0 and len(rows) >= per_page
            bad = [_invalid(provider, template, p, None) for p in ("missing id", "not an object")]
            if not was_full:  # an id must stay in keyset order: only after the last page's ids
                bad += [
                    _invalid(provider, template, p, self._fresh_id(provider))
                    for p in (
                        "impossible date of birth",
                        "impossible registration date",
                        "missing modification time",
                    )
                ]
            for _, record in bad[:2]:
                rows.insert(rng.randint(0, len(rows)), record)
            rows.extend(record for _, record in bad[2:])
            if provider == "runsignup" and per_page > 0 and len(rows) > per_page:
                del rows[per_page:]  # a page is never longer than asked; the rest comes next
            served = {id(r) for r in rows}
            for problem, record in bad:
                if id(record) in served:
                    self.invalid.append(InvalidRecord(provider, event_id, problem, record))

    def _fresh_id(self, provider: str) -> int:
        """An id no registration will ever get (reserved from the world's counter)."""
        with self.world.lock:
            pid = self.world.next_id[provider]
            self.world.next_id[provider] += 1
            return pid

    # ---------------------------------------------------------------- shifting pages
    def _shift(self, provider: str, request: Request, rng: random.Random) -> None:
        if provider == "runsignup":
            events = [e for e in request.params.get("event_id", "").split(",") if e.strip()]
        else:
            events = [e for e in [_path_event(request)] if e]
        reason = "cleared" if provider == "runsignup" else "cancelled"
        with self.world.lock:
            for event_id in events:
                try:
                    event = self.world.event_state(provider, event_id.strip())
                except KeyError:
                    continue
                active = self.world.active_ids(event)
                if len(active) < 3:
                    continue
                gone, changed = rng.sample(active, 2)
                self.world.remove_participant(provider, event.event_id, gone, reason)
                self.world.modify_participant(
                    provider, event.event_id, changed, first_name=rng.choice(FIRST)
                )
                self.world.add_participant(provider, event.event_id)
                self.shifts += 1


def _path_event(request: Request) -> str | None:
    found = EVENT_IN_PATH.search(request.path)
    return found.group(1) if found and "/events/" in request.path else None


def _render_odd(provider: str, body: Any, chosen: set[str]) -> None:
    """Render-only oddities (the truth keys and values do not change): ids as strings or ints."""
    key = _id_key(provider)
    for _, rows in _records(provider, body):
        for record in rows:
            if not isinstance(record, dict) or str(record.get(key)) not in chosen:
                continue
            if provider == "runsignup":
                record[key] = str(record[key])
                record["event_id"] = str(record["event_id"])
                if isinstance(record.get("age"), int):
                    record["age"] = str(record["age"])
            else:
                record[key] = int(record[key])
                bib = record.get("bib_number")
                if isinstance(bib, str) and bib.isdigit() and str(int(bib)) == bib:
                    record["bib_number"] = int(bib)


def _invalid(provider: str, template: dict, problem: str, fresh: int | None) -> tuple[str, Any]:
    record = copy.deepcopy(template)
    rsu = provider == "runsignup"
    if fresh is not None:
        record[_id_key(provider)] = fresh if rsu else str(fresh)
    if problem == "missing id":
        record.pop(_id_key(provider), None)
    elif problem == "not an object":
        record = f"<registration {template.get(_id_key(provider))} unavailable>"
    elif problem == "impossible date of birth":
        if rsu:
            record.setdefault("user", {})["dob"] = "1990-02-30"
        else:
            record["date_of_birth"] = "1990-02-30"
    elif problem == "impossible registration date":
        record["registration_date" if rsu else "registered_at"] = (
            "2/30/2024 10:00" if rsu else "2024-02-30 10:00:00"
        )
    elif problem == "missing modification time":
        record.pop("last_modified" if rsu else "updated_at", None)
    return problem, record
