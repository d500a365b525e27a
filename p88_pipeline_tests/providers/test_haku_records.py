"""Haku payload rules that need no server: time zones, lists, names, cancellations."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from p88_pipeline.providers.base import MalformedResponseError
from p88_pipeline.providers.haku.records import (
    newest_first,
    parse_event,
    parse_participant,
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
