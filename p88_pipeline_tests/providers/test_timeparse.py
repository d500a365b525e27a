"""Provider date/time parsing as plain functions (survivors of the mutation check,
docs/testing.md): every format the clients accept, UTC results, whole-second boundaries."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from p88_pipeline.providers.timeparse import (
    EASTERN,
    iso_utc,
    parse_date,
    parse_local,
    to_unix,
    zone,
)


def test_zone_falls_back_for_missing_unknown_or_non_text_names() -> None:
    assert zone("America/Chicago", None) == ZoneInfo("America/Chicago")
    assert zone(" Europe/Helsinki ", None) == ZoneInfo("Europe/Helsinki")
    for name in (None, "", "Mars/Olympus", 5):
        assert zone(name, EASTERN) is EASTERN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05/01/2026 10:00:30", datetime(2026, 5, 1, 14, 0, 30, tzinfo=UTC)),
        ("05/01/2026 9:30AM", datetime(2026, 5, 1, 13, 30, tzinfo=UTC)),
        ("05/01/2026", datetime(2026, 5, 1, 4, 0, tzinfo=UTC)),
        ("2026-05-01T10:00:00Z", datetime(2026, 5, 1, 10, 0, tzinfo=UTC)),
        ("2026-05-01T10:00:00+02:00", datetime(2026, 5, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_local_times_become_utc(text: str, expected: datetime) -> None:
    parsed = parse_local(f"  {text} ", EASTERN)
    assert parsed == expected and parsed.tzinfo is UTC


def test_blank_times_are_none_and_garbage_is_refused_by_name() -> None:
    assert parse_local(None, EASTERN) is None and parse_local("  ", EASTERN) is None
    with pytest.raises(ValueError, match="^unrecognised date/time 'soon'$"):
        parse_local("soon", EASTERN)


def test_dates_in_iso_or_us_style() -> None:
    assert parse_date("2026-05-01") == date(2026, 5, 1)
    assert parse_date(" 05/01/2026 ") == date(2026, 5, 1)
    assert parse_date(None) is None and parse_date(" ") is None
    with pytest.raises(ValueError, match="^impossible or unrecognised date '02/30/2026'$"):
        parse_date("02/30/2026")


def test_filters_are_written_in_whole_utc_seconds_rounded_down() -> None:
    moment = datetime(2026, 5, 1, 21, 0, 59, 999999, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert iso_utc(moment) == "2026-05-01T12:00:59Z"
    assert to_unix(moment) == 1777636859


def test_results_do_not_depend_on_the_machines_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
        assert iso_utc(moment) == "2026-05-01T12:00:00Z"
        assert parse_local("05/01/2026 08:00", EASTERN).tzinfo is UTC
    finally:
        monkeypatch.undo()
        time.tzset()
