"""A race group's plain decisions (sync/group.py): how a refused or untimed incremental read is
redone whole, and which sync type each event records. The group's reads and writes themselves
are stated end to end in test_rules.py."""

from __future__ import annotations

from datetime import UTC, datetime

from p88_pipeline.providers.base import Event
from p88_pipeline.sync import plan
from p88_pipeline.sync.group import DEFAULT_LOAD, _read_whole, _types, fmt_time

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def event(event_id: str) -> Event:
    return Event("runsignup", event_id, "r9", f"event {event_id}", T0, None, "UTC")


def test_a_refused_incremental_read_is_redone_whole_for_the_same_race_and_events() -> None:
    incremental = plan.SyncGroup("r9", (event("1"), event("2")), plan.INCREMENTAL, T0)
    assert _read_whole(incremental, plan.FULL_FALLBACK, "incremental filter refused") == (
        plan.SyncGroup(
            "r9",
            (event("1"), event("2")),
            plan.FULL_FALLBACK,
            None,
            {"1": "incremental filter refused", "2": "incremental filter refused"},
        )
    )


def test_each_event_records_full_compare_while_its_records_lack_times() -> None:
    events = (event("1"), event("2"))
    compare = plan.SyncGroup("r9", events, plan.FULL_COMPARE, None)
    assert _types(compare, {"2"}) == {"1": plan.FULL, "2": plan.FULL_COMPARE}
    incremental = plan.SyncGroup("r9", events, plan.INCREMENTAL, T0)
    assert _types(incremental, set()) == {"1": plan.INCREMENTAL, "2": plan.INCREMENTAL}
    assert _types(incremental, {"1"}) == {"1": plan.FULL_COMPARE, "2": plan.INCREMENTAL}


def test_times_in_the_log_are_utc_seconds_or_a_dash() -> None:
    assert fmt_time(T0) == "2026-05-01T12:00:00Z"
    assert fmt_time(None) == "-"


def test_the_default_load_groups_by_race_two_at_a_time() -> None:
    assert (DEFAULT_LOAD.group_by_race, DEFAULT_LOAD.parallel_groups) == (True, 2)
