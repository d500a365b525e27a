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
  stays `results_per_page` long (what it pushes out comes on the next keyset page). Asked for
  RunSignUp's removed-participants pages (by `path_contains`), it adds the first two kinds there.
- `shift_pages` adds, removes and modifies registrations of the requested events just before the
  page is computed: the next page is read from a world that moved under the paging client.
"""

from __future__ import annotations

import copy
import json
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from p88_sandbox.config import is_removals_path
from p88_sandbox.generate import FIRST, mix
from p88_sandbox.view import WorldView
from p88_sandbox.wire import Request, Response, int_param, json_response

EASTERN = ZoneInfo("America/New_York")
ODD_PER_PAGE = 3
PROBLEMS = ("impossible date of birth", "impossible registration date", "missing modification time")


class RecordShape(Protocol):
    """How one provider's participants pages look, for faults that alter records in them.

    `keyset`: pages are keyset-paged by id (a full page must stay full, new ids go last);
    `first_page_only`: odd values only on page 1 (a change moves a newest-first record there).
    """

    id_key: str
    page_size_param: str
    keyset: bool
    first_page_only: bool
    removal_reason: str
    escape_slashes: bool
    problems: tuple[str, ...]  # which of PROBLEMS make this provider's record unreadable

    def blocks(self, body: Any, request: Request) -> list[tuple[str, list]]: ...

    def events_of(self, request: Request) -> list[str]: ...

    def accepts(self, fields: Mapping[str, Any]) -> bool: ...

    def render_odd(self, record: dict) -> None: ...

    def spoil(self, record: dict, problem: str) -> None: ...

    def id_value(self, pid: int) -> int | str: ...


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


class RecordFaults:
    """The record-level faults one sandbox served, kept so tests can check the warehouse exactly."""

    def __init__(self, world: WorldView, shapes: Mapping[str, RecordShape | None]) -> None:
        self.world = world
        self.shapes = shapes
        self.oddities: list[Oddity] = []
        self.invalid: list[InvalidRecord] = []
        self.shifts = 0
        self._served = 0
        self._lock = threading.Lock()

    def shape(self, provider: str) -> RecordShape:
        shape = self.shapes.get(provider)
        if shape is None:
            raise ValueError(f"provider {provider!r} declares no record shape: no record faults")
        return shape

    def serve(
        self, kind: str, provider: str, request: Request, answer: Callable[[], Response]
    ) -> Response:
        """Compute the page with the fault applied (called instead of `answer()`)."""
        shape = self.shape(provider)
        with self._lock:
            self._served += 1
            rng = random.Random(mix(self.world.seed, 404, self._served))
        if kind == "shift_pages":
            self._shift(provider, shape, request, rng)
            return answer()
        response = answer()
        if response.status != 200 or response.error_code is not None:
            return response
        body = json.loads(response.body)
        if kind == "odd_records":
            chosen = self._make_odd(provider, shape, request, body, rng)
            if not chosen:
                return response
            response = answer()  # the page again, from the world that now holds the odd values
            body = json.loads(response.body)
            for _, rows in shape.blocks(body, request):
                for record in rows:
                    if isinstance(record, dict) and str(record.get(shape.id_key)) in chosen:
                        shape.render_odd(record)
        else:
            self._add_invalid(provider, shape, request, body, rng)
        return json_response(body, escape_slashes=shape.escape_slashes)

    # ---------------------------------------------------------------- odd but valid
    def _make_odd(
        self,
        provider: str,
        shape: RecordShape,
        request: Request,
        body: Any,
        rng: random.Random,
    ) -> set[str]:
        served = [
            (event_id, str(r[shape.id_key]))
            for event_id, rows in shape.blocks(body, request)
            for r in rows
            if isinstance(r, dict) and r.get(shape.id_key) is not None
        ]
        if shape.first_page_only and int_param(request.params, "page", 1) != 1:
            return set()
        profiles = [p for p in PROFILES if shape.accepts(p.fields)]
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
    def _add_invalid(
        self,
        provider: str,
        shape: RecordShape,
        request: Request,
        body: Any,
        rng: random.Random,
    ) -> None:
        per_page = int_param(request.params, shape.page_size_param, 0) or 0
        for event_id, rows in shape.blocks(body, request):
            template = next((r for r in rows if isinstance(r, dict)), None)
            if template is None:
                continue
            was_full = shape.keyset and per_page > 0 and len(rows) >= per_page
            bad = [_invalid(shape, template, p, None) for p in ("missing id", "not an object")]
            # an id must stay in keyset order: only after the last page's ids; the spoiled
            # kinds spoil participant fields, which a removal record does not carry
            if not was_full and not is_removals_path(request.path):
                bad += [
                    _invalid(shape, template, p, self._fresh_id(provider))
                    for p in PROBLEMS
                    if p in shape.problems
                ]
            for _, record in bad[:2]:
                rows.insert(rng.randint(0, len(rows)), record)
            rows.extend(record for _, record in bad[2:])
            if shape.keyset and per_page > 0 and len(rows) > per_page:
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
    def _shift(
        self, provider: str, shape: RecordShape, request: Request, rng: random.Random
    ) -> None:
        with self.world.lock:
            for event_id in shape.events_of(request):
                try:
                    event = self.world.event_state(provider, event_id.strip())
                except KeyError:
                    continue
                active = self.world.active_ids(event)
                if len(active) < 3:
                    continue
                gone, changed = rng.sample(active, 2)
                self.world.remove_participant(provider, event.event_id, gone, shape.removal_reason)
                self.world.modify_participant(
                    provider, event.event_id, changed, first_name=rng.choice(FIRST)
                )
                self.world.add_participant(provider, event.event_id)
                self.shifts += 1


def _invalid(
    shape: RecordShape, template: dict, problem: str, fresh: int | None
) -> tuple[str, Any]:
    record = copy.deepcopy(template)
    if fresh is not None:
        record[shape.id_key] = shape.id_value(fresh)
    if problem == "missing id":
        record.pop(shape.id_key, None)
    elif problem == "not an object":
        return problem, f"<registration {template.get(shape.id_key)} unavailable>"
    else:
        shape.spoil(record, problem)
    return problem, record
