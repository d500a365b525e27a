"""Haku payloads -> provider-neutral records. Pure functions: no I/O, no session.

Confidence in Haku's shapes is low (PROVIDERS.md), so every reader here is tolerant of the
variants seen or guessed: lists bare or wrapped, timestamps plain, ISO or bare dates, money as a
number or a string. What cannot be read raises ValueError so the client can quarantine the record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from p88_pipeline.providers.base import Event, MalformedResponseError, Participant
from p88_pipeline.providers.fields import compact_json, int_or_none, parse_money, text_or_none
from p88_pipeline.providers.timeparse import parse_date, parse_local, zone

log = logging.getLogger(__name__)

PROVIDER = "haku"
LIST_KEYS = ("data", "events", "participants", "registrations", "results", "items", "records")
EVENT_ZONE_KEYS = ("timezone", "time_zone", "timezone_name", "tz")
CANCELLED_REASON = "cancelled"
UTC_ZONE = ZoneInfo("UTC")


def unwrap_list(body: Any, what: str) -> list:
    """The list of a page, bare or wrapped in an object under one of the usual keys."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in LIST_KEYS:
            value = body.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict):  # {"data": {"items": [...]}}
                inner = [value[k] for k in LIST_KEYS if isinstance(value.get(k), list)]
                if inner:
                    return inner[0]
    raise MalformedResponseError(f"{what}: expected a list (bare or wrapped), got {body!r:.80}")


def error_in_body(body: Any) -> Any:
    """An error reported inside an HTTP 200 (`{"error": ...}`, or a list of only such objects);
    read as records, it would look like an empty event whose registrations all vanished."""
    if isinstance(body, dict) and ("error" in body or "errors" in body):
        if not any(isinstance(body.get(k), list) for k in LIST_KEYS):
            return body.get("error") or body.get("errors")
    if (
        isinstance(body, list)
        and body
        and all(
            isinstance(item, dict) and "error" in item and "registration_number" not in item
            for item in body
        )
    ):
        return body[0]["error"]
    return None


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "t", "1", "yes", "y")
    return bool(value)


def split_name(full: Any) -> tuple[str | None, str | None]:
    """`person_full_name` -> (first token, the rest): Haku has no separate name fields."""
    parts = str(full or "").split()
    if not parts:
        return None, None
    return parts[0], " ".join(parts[1:]) or None


def parse_event(raw: Any, default_zone: str) -> Event:
    """Each Haku event is its own race (race_id == event_id).

    The event's own zone field wins over the partner's `timezone` option; an offset inside an
    ISO `event_date` wins over both. An unreadable date leaves start_time None (kept as future:
    syncing one event too many is cheaper than missing one), never an exception.
    """
    if not isinstance(raw, dict):
        raise MalformedResponseError(f"events: an event is {raw!r:.80}")
    event_id = text_or_none(raw.get("id", raw.get("event_id")))
    if event_id is None:
        raise MalformedResponseError(f"events: an event without id: {raw!r:.120}")
    own = next((raw[k] for k in EVENT_ZONE_KEYS if zone(raw.get(k), None)), None)
    tz_name = own or default_zone
    tz = zone(tz_name, UTC_ZONE)
    times = []
    for key in ("event_date", "event_end_date"):
        try:
            times.append(parse_local(raw.get(key), tz))
        except ValueError:
            log.warning("haku event %s: unreadable %s %r", event_id, key, raw.get(key))
            times.append(None)
    name = str(raw.get("name") or "")
    return Event(
        provider=PROVIDER,
        event_id=event_id,
        race_id=event_id,
        name=name,
        start_time=times[0],
        end_time=times[1],
        timezone=tz_name,
        race_name=name,
        raw=raw,
    )


def parse_participant(
    raw: Any, event_id: str, tz: ZoneInfo, read_at: datetime | None = None
) -> Participant:
    """Raises ValueError/KeyError/TypeError/AttributeError for a record we must quarantine.

    The event id is the one we asked for (the URL's), so keys match the watermarks' event ids.
    A cancellation is a soft delete carried by the record itself: removed_at = cancelled_at (or
    updated_at, or the read's time `read_at`). A record without `updated_at` is still a
    registration (list rows may lack it, PROVIDERS.md): modified_at None.
    """
    registration = text_or_none(raw.get("registration_number"))
    if registration is None:
        raise ValueError("missing registration_number")
    modified_at = parse_local(raw.get("updated_at"), tz)
    removed_at = None
    if _flag(raw.get("is_cancelled")):
        removed_at = parse_local(raw.get("cancelled_at"), tz) or modified_at or read_at
        if removed_at is None:
            raise ValueError("cancelled without cancelled_at, updated_at or a read time")
    first, last = split_name(raw.get("person_full_name"))
    team = raw.get("team")
    dob = parse_date(raw.get("date_of_birth") or raw.get("dob"))
    return Participant(
        provider=PROVIDER,
        event_id=event_id,
        participant_id=registration,
        modified_at=modified_at,
        first_name=first,
        last_name=last,
        email=text_or_none(raw.get("email")),
        dob=dob.isoformat() if dob else None,
        gender=text_or_none(raw.get("gender")),
        bib=text_or_none(raw.get("bib_number")),
        age=int_or_none(raw.get("age")),
        registered_at=parse_local(raw.get("registered_at"), tz),
        team=text_or_none(team.get("name") if isinstance(team, dict) else team),
        amount_paid=parse_money(raw.get("transaction_amount")),
        removed_at=removed_at,
        removed_reason=CANCELLED_REASON if removed_at else None,
        raw=compact_json(raw),
    )


def newest_first(stamps: Iterable[datetime]) -> bool:
    """Whether modification times come newest first, the order the early stop relies on."""
    return all(a >= b for a, b in pairwise(stamps))


def registration_id(raw: Any) -> str | None:
    """The registration number of an unreadable record, when it still has one."""
    return text_or_none(raw.get("registration_number")) if isinstance(raw, dict) else None
