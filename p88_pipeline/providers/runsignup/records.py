"""RunSignUp payloads -> provider-neutral records. Pure functions: no I/O, no session.

Event times are in the race's zone, every other time is US Eastern; `last_modified` is Unix seconds.
What cannot be read raises ValueError/KeyError/TypeError so the client can quarantine the record.
"""

from __future__ import annotations

from typing import Any

from p88_pipeline.providers.base import Event, Participant, Removal
from p88_pipeline.providers.fields import compact_json, int_or_none, parse_money, text_or_none
from p88_pipeline.providers.paging import UNREADABLE
from p88_pipeline.providers.timeparse import EASTERN, from_unix, parse_date, parse_local, zone

PROVIDER = "runsignup"


def record_id(raw: Any) -> str | None:
    """The registration id of an unreadable record, when it still has one."""
    return text_or_none(raw.get("registration_id")) if isinstance(raw, dict) else None


def registration_id(record: Any) -> int | None:
    """A record's id as keyset paging needs it, whether parsed already or not."""
    if type(record) is Participant:
        return int_or_none(record.participant_id)
    return int_or_none(record.get("registration_id")) if isinstance(record, dict) else None


def parsed_while_decoded(raw: dict) -> Any:
    """json's object_hook for participants pages: a record becomes a Participant as soon as it
    is decoded, so a full page (2,500 records) never exists as dicts all at once, a run's memory
    peak otherwise. Only an object shaped like a whole record (an id, a user, a modification
    time); one that does not parse on its own (no event id of its own, unreadable) stays a dict
    for parse_or_reject, with its block's event id."""
    if "registration_id" not in raw or "last_modified" not in raw or "user" not in raw:
        return raw
    try:
        return parse_participant(raw, None)
    except UNREADABLE:
        return raw


def parse_event(race: dict, raw: dict) -> Event:
    tz_name = race.get("timezone") or "America/New_York"
    tz = zone(tz_name, EASTERN)
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
        raw=compact_json(raw),
    )


def parse_page_record(raw: Any, event_id: str | None) -> Participant:
    """A participants page's record: parsed already while decoded, or now with its block's id."""
    if type(raw) is Participant:
        return raw
    return parse_participant(raw, event_id)


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
