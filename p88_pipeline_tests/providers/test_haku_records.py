"""Haku payload rules that need no server: time zones, lists, names, cancellations."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from p88_pipeline.providers.base import MalformedResponseError, Participant
from p88_pipeline.providers.haku.records import (
    LIST_KEYS,
    error_in_body,
    newest_first,
    parse_event,
    parse_participant,
    registration_id,
    split_name,
    unwrap_list,
)

UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("raw", "default", "start", "zone"),
    [
        (
            {"event_date": "2026-05-01 08:00:00", "timezone": "America/Chicago"},
            "UTC",
            datetime(2026, 5, 1, 13, 0, tzinfo=UTC),
            "America/Chicago",
        ),
        (
            {"event_date": "2026-05-01T08:00:00-06:00"},
            "UTC",
            datetime(2026, 5, 1, 14, 0, tzinfo=UTC),
            "UTC",
        ),
        (
            {"event_date": "2026-05-01T08:00:00Z"},
            "America/Denver",
            datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
            "America/Denver",
        ),
        (
            {"event_date": "2026-05-01 08:00:00"},
            "America/Denver",
            datetime(2026, 5, 1, 14, 0, tzinfo=UTC),
            "America/Denver",
        ),
        (
            {"event_date": "2026-05-01", "timezone": "Not/AZone"},
            "UTC",
            datetime(2026, 5, 1, 0, 0, tzinfo=UTC),
            "UTC",
        ),
        ({"event_date": "2026-02-30"}, "UTC", None, "UTC"),
    ],
)
def test_event_start_is_read_in_the_event_zone_then_the_partner_zone(raw, default, start, zone):
    event = parse_event({"id": 70001, "name": "Trail 25K", **raw}, default)
    assert (event.event_id, event.race_id, event.race_name) == ("70001", "70001", "Trail 25K")
    assert event.start_time == start and event.timezone == zone


def test_an_event_without_id_is_a_malformed_answer() -> None:
    with pytest.raises(MalformedResponseError):
        parse_event({"name": "x"}, "UTC")


def test_lists_bare_wrapped_or_doubly_wrapped() -> None:
    assert unwrap_list([1], "x") == [1]
    assert unwrap_list({"data": [1], "meta": {}}, "x") == [1]
    assert unwrap_list({"data": {"items": [1]}}, "x") == [1]
    with pytest.raises(MalformedResponseError):
        unwrap_list({"message": "oops"}, "x")


def test_names_split_on_the_first_token() -> None:
    assert split_name("Zoë") == ("Zoë", None)
    assert split_name("  Jean  Luc Picard ") == ("Jean", "Luc Picard")
    assert split_name(None) == (None, None)


def test_timestamps_without_zone_use_the_partner_zone() -> None:
    raw = {"registration_number": 1, "updated_at": "2026-07-04 09:30:00", "team": "Solo"}
    p = parse_participant(raw, "9", ZoneInfo("America/New_York"))
    assert p.modified_at == datetime(2026, 7, 4, 13, 30, tzinfo=UTC)
    assert p.team == "Solo" and p.participant_id == "1"


def test_impossible_dates_are_rejected_not_guessed() -> None:
    with pytest.raises(ValueError):
        parse_participant({"registration_number": 1, "updated_at": "2026-02-30"}, "9", UTC_ZONE)
    with pytest.raises(ValueError):
        parse_participant(
            {"registration_number": 1, "updated_at": "2026-02-01", "date_of_birth": "1990-13-01"},
            "9",
            UTC_ZONE,
        )


def test_newest_first_allows_ties() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert newest_first([t, t, t.replace(year=2025)])
    assert not newest_first([t.replace(year=2025), t])


CHICAGO = ZoneInfo("America/Chicago")


def test_every_field_of_a_registration_lands_in_its_column() -> None:
    """Each documented field mapped once: a field read from the wrong key would be stored None,
    and no sync test compares every column of every row."""
    raw = {
        "registration_number": 501,
        "updated_at": "2026-11-02 10:00:00",
        "person_full_name": "Ann Marie Lee",
        "email": "ann@example.org",
        "date_of_birth": "1992-03-04",
        "gender": "F",
        "bib_number": 12,
        "age": "34",
        "registered_at": "2026-10-01 09:00:00",
        "team": {"name": "Harriers"},
        "transaction_amount": "45.50",
    }
    parsed = parse_participant(raw, "9", CHICAGO)
    assert parsed == Participant(
        provider="haku",
        event_id="9",
        participant_id="501",
        modified_at=datetime(2026, 11, 2, 16, 0, tzinfo=UTC),  # CST
        first_name="Ann",
        last_name="Marie Lee",
        email="ann@example.org",
        dob="1992-03-04",
        gender="F",
        bib="12",
        age=34,
        registered_at=datetime(2026, 10, 1, 14, 0, tzinfo=UTC),  # CDT
        team="Harriers",
        amount_paid=Decimal("45.50"),
    )
    assert json.loads(parsed.raw) == raw
    other = parse_participant({"registration_number": "7", "dob": "2001-01-02"}, "9", CHICAGO)
    assert (other.dob, other.modified_at, other.team, other.removed_reason) == (
        "2001-01-02",
        None,  # a list row without updated_at is still a registration
        None,
        None,
    )


@pytest.mark.parametrize("flag", [True, "true", " Yes ", "t", "1", "y", 1])
def test_a_cancelled_registration_is_removed_at_its_cancellation_time(flag) -> None:
    raw = {
        "registration_number": 1,
        "updated_at": "2026-11-02 10:00:00",
        "is_cancelled": flag,
        "cancelled_at": "2026-10-31 08:00:00",
    }
    parsed = parse_participant(raw, "9", CHICAGO)
    assert parsed.removed_at == datetime(2026, 10, 31, 13, 0, tzinfo=UTC)  # CDT
    assert parsed.removed_reason == "cancelled"


@pytest.mark.parametrize("flag", [False, "false", "no", "0", "", None, 0])
def test_a_registration_not_flagged_cancelled_is_live(flag) -> None:
    raw = {"registration_number": 1, "is_cancelled": flag, "cancelled_at": "2026-11-01 08:00:00"}
    parsed = parse_participant(raw, "9", CHICAGO)
    assert (parsed.removed_at, parsed.removed_reason) == (None, None)


def test_a_cancellation_without_its_time_falls_back_to_the_update_then_the_read() -> None:
    read_at = datetime(2026, 11, 3, tzinfo=UTC)
    updated = {"registration_number": 1, "is_cancelled": True, "updated_at": "2026-11-02 10:00"}
    assert parse_participant(updated, "9", CHICAGO, read_at).removed_at == datetime(
        2026, 11, 2, 16, 0, tzinfo=UTC
    )
    bare = {"registration_number": 1, "is_cancelled": True}
    assert parse_participant(bare, "9", CHICAGO, read_at).removed_at == read_at
    with pytest.raises(
        ValueError, match="^cancelled without cancelled_at, updated_at or a read time$"
    ):
        parse_participant(bare, "9", CHICAGO)
    with pytest.raises(ValueError, match="^missing registration_number$"):
        parse_participant({"updated_at": "2026-11-02 10:00"}, "9", CHICAGO)
    assert registration_id({"registration_number": 44}) == "44"
    assert registration_id("not a record") is None


def test_an_event_reads_its_own_zone_under_any_usual_key_and_keeps_what_it_was_given() -> None:
    for key in ("timezone", "time_zone", "timezone_name", "tz"):
        raw = {"event_id": 8, "name": "10K", key: "America/Chicago", "event_date": "2026-05-01"}
        event = parse_event(raw, "UTC")
        assert (event.event_id, event.timezone) == ("8", "America/Chicago")
        assert event.start_time == datetime(2026, 5, 1, 5, 0, tzinfo=UTC) and event.raw is raw
    both = parse_event(
        {"id": 1, "event_date": "2026-05-01 08:00", "event_end_date": "2026-05-01 13:00"}, "UTC"
    )
    assert (both.start_time, both.end_time, both.name, both.race_name) == (
        datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 5, 1, 13, 0, tzinfo=UTC),
        "",
        "",
    )
    unreadable_end = parse_event(
        {"id": 1, "event_date": "2026-05-01", "event_end_date": "x"}, "UTC"
    )
    assert unreadable_end.start_time is not None and unreadable_end.end_time is None
    with pytest.raises(MalformedResponseError, match="^events: an event is 'x'$"):
        parse_event("x", "UTC")
    with pytest.raises(MalformedResponseError, match="^events: an event without id: "):
        parse_event({"name": "x"}, "UTC")


@pytest.mark.parametrize("key", LIST_KEYS)
def test_a_list_is_found_under_each_usual_key(key) -> None:
    assert unwrap_list({"meta": {}, key: [1, 2]}, "participants") == [1, 2]
    assert unwrap_list({key: {"total": 2, "records": [3]}}, "participants") == [3]


def test_a_body_without_a_list_is_malformed_and_named() -> None:
    with pytest.raises(
        MalformedResponseError,
        match=r"^participants: expected a list \(bare or wrapped\), got \{'message': 'oops'\}$",
    ):
        unwrap_list({"message": "oops"}, "participants")
    with pytest.raises(MalformedResponseError):
        unwrap_list({"data": {"message": "oops"}}, "participants")


def test_an_error_inside_a_200_is_found_and_records_are_not_errors() -> None:
    assert error_in_body({"error": "invalid token"}) == "invalid token"
    assert error_in_body({"errors": ["a", "b"]}) == ["a", "b"]
    assert error_in_body({"error": None, "errors": ["a"]}) == ["a"]
    assert error_in_body({"errors": [], "data": [{"registration_number": 1}]}) is None
    assert error_in_body([{"error": "denied"}, {"error": "again"}]) == "denied"
    assert error_in_body([{"error": "x", "registration_number": 1}]) is None
    assert error_in_body([{"error": "x"}, "row"]) is None
    assert error_in_body([]) is None and error_in_body({"data": []}) is None
    assert error_in_body(["error", "errors"]) is None  # a page of strings: not an error body


def test_an_unknown_partner_zone_reads_event_times_as_utc_whatever_the_machine_zone(
    monkeypatch,
) -> None:
    monkeypatch.setenv("TZ", "America/Denver")
    time.tzset()
    try:
        event = parse_event({"id": 1, "event_date": "2026-05-01 08:00"}, "Not/AZone")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert event.start_time == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
