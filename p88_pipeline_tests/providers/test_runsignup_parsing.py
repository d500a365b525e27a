"""RunSignUp payload rules that need no server: errors in bodies, keyset paging, time zones."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from p88_pipeline.providers.base import (
    AuthError,
    Event,
    FilterRejectedError,
    InaccessibleError,
    MalformedResponseError,
    Participant,
    ProviderError,
    Removal,
)
from p88_pipeline.providers.http import RetryableBody
from p88_pipeline.providers.runsignup import answers, client, records


def error(code: int) -> dict:
    return {"error": {"error_code": code, "error_msg": "x"}}


def test_errors_are_found_bare_or_wrapped_in_an_array() -> None:
    assert answers.find_error(error(14)) == {"error_code": 14, "error_msg": "x"}
    assert answers.find_error([error(14)]) == {"error_code": 14, "error_msg": "x"}
    assert answers.find_error([{"event": {}, "participants": []}]) is None


@pytest.mark.parametrize(
    ("code", "filtered", "raised"),
    [
        (14, False, RetryableBody),
        (5, False, RetryableBody),
        (6, False, AuthError),
        (7, True, AuthError),
        (3, True, FilterRejectedError),
        (9, True, FilterRejectedError),
        (3, False, ProviderError),
        (301, True, ProviderError),
    ],
)
def test_error_codes_map_to_what_the_engine_does_with_them(code, filtered, raised) -> None:
    with pytest.raises(raised) as caught:
        answers.check_body([error(code)], filtered=filtered)
    assert str(caught.value) == f"RunSignUp error {code}: x"  # the retries' last problem too
    if raised is not RetryableBody:
        assert caught.value.code == code


def test_a_filter_is_only_blamed_when_the_call_sent_one_and_a_missing_message_is_blank() -> None:
    with pytest.raises(ProviderError) as caught:
        answers.check_body({"error": {"error_code": 3}})  # no filter sent: not the filter's fault
    assert type(caught.value) is ProviderError
    assert str(caught.value) == "RunSignUp error 3: "


def test_error_14_is_throttling() -> None:
    with pytest.raises(RetryableBody) as caught:
        answers.check_body(error(14))
    assert caught.value.throttled


def test_keyset_continues_only_while_a_page_is_full() -> None:
    assert answers.next_keyset({"1": [5, 9]}, page_size=3) is None
    assert answers.next_keyset({"1": [5, 7, 9]}, page_size=3) == 9
    # Page size per event: the full event decides, the short one is complete.
    assert answers.next_keyset({"1": [5, 7, 9], "2": [6]}, page_size=3) == 9
    assert answers.next_keyset({"1": [5, 7, 9], "2": [1, 2, 3]}, page_size=3) == 3
    # Page size over the whole answer: continue after the highest id.
    assert answers.next_keyset({"1": [5, 7], "2": [6]}, page_size=3) == 7


@pytest.mark.parametrize(
    ("ids", "counts"),
    [
        ({"1": [], "2": [4]}, {"1": 3, "2": 1}),  # a full event block, no id readable in it
        ({"1": [], "2": []}, {"1": 2, "2": 1}),  # the whole answer full, no id readable at all
    ],
)
def test_a_full_page_without_a_readable_id_is_malformed_not_a_crash(ids, counts) -> None:
    """Nowhere to continue from: re-reading the start would loop, stopping would lose rows."""
    with pytest.raises(MalformedResponseError) as caught:
        answers.next_keyset(ids, page_size=3, counts=counts)
    assert str(caught.value) == "a full page without a readable registration_id"


def test_event_times_are_read_in_the_race_zone_and_other_times_in_eastern() -> None:
    race = {"race_id": 7, "name": "Turkey Trot", "timezone": "America/Denver"}
    event = records.parse_event(
        race, {"event_id": 70, "name": "5K", "start_time": "11/26/2026 08:00", "end_time": None}
    )
    assert event.start_time == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    assert event.end_time is None
    participant = records.parse_participant(
        {
            "registration_id": 1,
            "last_modified": "1764400000",
            "registration_date": "7/4/2026 09:30",
            "amount_paid": "$1,055.00",
            "bib_num": 0,
            "user": {"first_name": "Zoë", "dob": "1990-02-28"},
        },
        "70",
    )
    assert participant.registered_at == datetime(2026, 7, 4, 13, 30, tzinfo=UTC)  # EDT
    assert participant.modified_at == datetime.fromtimestamp(1764400000, UTC)
    assert participant.amount_paid == Decimal("1055.00")
    assert participant.bib == "0" and participant.event_id == "70"


def test_impossible_dates_and_missing_ids_are_rejected_not_guessed() -> None:
    with pytest.raises(ValueError):
        records.parse_participant(
            {"registration_id": 1, "last_modified": 1, "user": {"dob": "1990-02-30"}}, "1"
        )
    with pytest.raises(ValueError):
        records.parse_participant({"last_modified": 1}, "1")


@pytest.mark.parametrize(
    ("code", "race_call", "raised"),
    [
        (6, False, AuthError),
        (7, False, AuthError),
        (7, True, InaccessibleError),  # on a race call, 7 is this race refusing the partner
        (201, True, InaccessibleError),
        (301, True, InaccessibleError),
        (201, False, ProviderError),
        (223, True, ProviderError),
    ],
)
def test_the_message_and_the_code_travel_with_the_error(code, race_call, raised) -> None:
    body = {"error": {"error_code": str(code), "error_msg": "Event id not valid"}}
    with pytest.raises(raised) as caught:
        answers.check_body(body, race_call=race_call)
    assert type(caught.value) is raised
    assert (str(caught.value), caught.value.code) == (
        f"RunSignUp error {code}: Event id not valid",
        code,
    )


def test_partner_file_flags_read_yaml_and_runsignup_spellings() -> None:
    truthy = [True, 1, "true", " T ", "t", "Yes", "1"]
    falsy = [False, 0, None, "false", "F", "no", "0", ""]
    assert [client._flag(v) for v in truthy] == [True] * len(truthy)
    assert [client._flag(v) for v in falsy] == [False] * len(falsy)


def test_records_are_parsed_while_the_page_is_decoded_and_the_rest_stays_for_its_block() -> None:
    """A participants page never exists as dicts all at once: each whole record becomes a
    Participant while json decodes it. A nested object carrying a registration id (no user) is
    left alone; a record without its own event id stays a dict and is parsed with its block's."""
    page = json.dumps(
        [
            {
                "event": {"event_id": 600001},
                "participants": [
                    {
                        "registration_id": 7,
                        "event_id": 600001,
                        "last_modified": 1731866183,
                        "user": {"first_name": "Ann", "address": {"city": "Oslo"}},
                        "transfer": {"registration_id": 6, "event_id": 600001, "last_modified": 1},
                    },
                    {"registration_id": 8, "last_modified": 1731866183, "user": {}},
                    {"registration_id": 9, "user": {}},
                ],
            }
        ]
    )
    records_read = json.loads(page, object_hook=records.parsed_while_decoded)[0]["participants"]
    ann, no_event, unreadable = records_read
    assert type(ann) is Participant and ann.first_name == "Ann"
    assert json.loads(ann.raw)["transfer"] == {
        "registration_id": 6,
        "event_id": 600001,
        "last_modified": 1,
    }
    assert json.loads(ann.raw)["user"] == {"first_name": "Ann", "address": {"city": "Oslo"}}
    assert isinstance(no_event, dict) and isinstance(unreadable, dict)
    assert [records.registration_id(r) for r in records_read] == [7, 8, 9]
    assert records.parse_page_record(ann, "600002") is ann
    assert records.parse_page_record(no_event, "600002").event_id == "600002"
    with pytest.raises(ValueError, match="last_modified"):
        records.parse_page_record(unreadable, "600002")


def test_a_removal_is_read_from_its_unix_time_or_its_eastern_wall_clock() -> None:
    """removed-participants records: `last_modified_ts` (Unix seconds) when present, else the
    Eastern `last_modified` or `removed_date`; the record's own event id wins over its block's."""
    raw = {"registration_id": 5, "event_id": 71, "last_modified_ts": 1764400000, "reason": "x"}
    removal = records.parse_removal(raw, "70")
    assert removal == Removal("runsignup", "71", "5", datetime.fromtimestamp(1764400000, UTC), "x")
    assert removal.raw is raw  # kept whole: the soft delete's evidence
    eastern = records.parse_removal(
        {"registration_id": "6", "last_modified_ts": "", "last_modified": "11/28/2026 10:00"}, "70"
    )
    assert (eastern.event_id, eastern.removed_at, eastern.reason) == (
        "70",
        datetime(2026, 11, 28, 15, 0, tzinfo=UTC),  # EST
        "removed",
    )
    dated = records.parse_removal(
        {"registration_id": 7, "removed_date": "2026-07-04 09:30", "removed_reason": "refund"}, "70"
    )
    assert (dated.removed_at, dated.reason) == (datetime(2026, 7, 4, 13, 30, tzinfo=UTC), "refund")
    both = {"registration_id": 8, "last_modified": "2026-07-04 09:30", "removed_date": "2020-01-01"}
    assert records.parse_removal(both, "70").removed_at == dated.removed_at
    reasons = {"registration_id": 9, "last_modified_ts": 1, "removed_reason": "a", "reason": "b"}
    assert records.parse_removal(reasons, "70").reason == "a"


def test_a_removal_without_an_id_or_a_time_is_rejected_with_its_cause() -> None:
    with pytest.raises(ValueError, match="^missing registration_id$"):
        records.parse_removal({"last_modified_ts": 1}, "70")
    with pytest.raises(ValueError, match="^missing removal time$"):
        records.parse_removal({"registration_id": 1, "last_modified_ts": None}, "70")
    with pytest.raises(ValueError, match="^missing registration_id$"):
        records.parse_participant({"last_modified": 1, "user": {}}, "70")
    assert records.record_id({"registration_id": 12}) == "12"
    assert records.record_id(["not", "a", "record"]) is None


def test_a_race_without_a_zone_is_read_and_stored_as_us_eastern() -> None:
    event = records.parse_event(
        {"race_id": 7, "name": "Trot"}, {"event_id": 70, "start_time": "11/26/2026 08:00"}
    )
    assert event.timezone == "America/New_York" and event.raw["race_timezone"] == event.timezone
    assert event.start_time == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def test_every_field_of_a_registration_lands_in_its_column() -> None:
    """Each documented field, mapped once (a field read from the wrong key would be stored None
    and no sync test compares every column of every row)."""
    raw = {
        "registration_id": 11,
        "event_id": 71,
        "last_modified": 1764400000,
        "registration_date": "11/1/2026 18:05",
        "bib_num": "A12",
        "chip_num": "C-9",
        "age": "34",
        "team_name": "Harriers",
        "amount_paid": "45.50",
        "user": {
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann@example.org",
            "dob": "1992-03-04",
            "gender": "F",
        },
    }
    parsed = records.parse_participant(raw, "70")
    assert parsed == Participant(
        provider="runsignup",
        event_id="71",  # the record's own event id wins over its block's
        participant_id="11",
        modified_at=datetime.fromtimestamp(1764400000, UTC),
        first_name="Ann",
        last_name="Lee",
        email="ann@example.org",
        dob="1992-03-04",
        gender="F",
        bib="A12",
        chip="C-9",
        age=34,
        registered_at=datetime(2026, 11, 1, 23, 5, tzinfo=UTC),  # EST
        team="Harriers",
        amount_paid=Decimal("45.50"),
    )
    assert json.loads(parsed.raw) == raw


def test_a_registration_without_an_event_or_a_modification_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="^missing event_id$"):
        records.parse_participant({"registration_id": 1, "last_modified": 1}, None)
    with pytest.raises(ValueError, match="^missing last_modified$"):
        records.parse_participant({"registration_id": 1, "last_modified": ""}, "70")
    with pytest.raises(ValueError, match="^missing last_modified$"):
        records.parse_participant({"registration_id": 1}, "70")
    assert records.parse_participant({"registration_id": 1, "last_modified": 0}, "70").age is None


def test_every_field_of_an_event_lands_in_its_column() -> None:
    race = {"race_id": 7, "name": "Turkey Trot", "timezone": "America/Denver"}
    raw = {
        "event_id": 70,
        "name": "5K",
        "start_time": "11/26/2026 08:00",
        "end_time": "11/26/2026 11:30",
    }
    event = records.parse_event(race, raw)
    assert event == Event(
        provider="runsignup",
        event_id="70",
        race_id="7",
        name="5K",
        start_time=datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
        end_time=datetime(2026, 11, 26, 18, 30, tzinfo=UTC),
        timezone="America/Denver",
        race_name="Turkey Trot",
    )
    assert event.raw == {**raw, "race_timezone": "America/Denver"}  # raw is not compared
    nameless = records.parse_event({"race_id": 7, "timezone": "Not/AZone"}, {"event_id": 70})
    assert (nameless.name, nameless.race_name) == ("", "")
    assert nameless.timezone == "Not/AZone"  # kept as given; times read in US Eastern
    dated = records.parse_event({"race_id": 7, "timezone": "Not/AZone"}, raw)
    assert dated.start_time == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
