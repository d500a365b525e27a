"""The sync rules of DESIGN.md as plain decisions, one test per rule."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from p88_pipeline.providers.base import Event
from p88_pipeline.sync import plan

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
POLICY = plan.SyncPolicy()


def event(event_id: str, start: datetime | None, race_id: str = "r1") -> Event:
    return Event("runsignup", event_id, race_id, f"event {event_id}", start, None, "UTC")


def test_rule1_future_filter_uses_the_race_time_zone_and_grace_window() -> None:
    chicago = ZoneInfo("America/Chicago")
    # 06:00 in Chicago today is 12:00 UTC: just now, inside the grace window.
    today_chicago = event("a", datetime(2026, 11, 29, 6, 0, tzinfo=chicago))
    # Started 25 hours ago: outside the 1-day grace window.
    long_gone = event("b", NOW - timedelta(hours=25))
    # Started 23 hours ago: race-day changes still matter.
    race_day = event("c", NOW - timedelta(hours=23))
    no_start = event("d", None)
    future = plan.future_events([today_chicago, long_gone, race_day, no_start], NOW, POLICY.grace)
    assert [e.event_id for e in future] == ["a", "c", "d"]


def test_rule1_an_event_exactly_at_now_minus_grace_is_past() -> None:
    # The boundary itself: "after now minus grace" is strict, one microsecond later is future.
    boundary = NOW - POLICY.grace
    assert not plan.is_future(event("a", boundary), NOW, POLICY.grace)
    assert plan.is_future(event("b", boundary + timedelta(microseconds=1)), NOW, POLICY.grace)


def test_rule1_future_filter_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        plan.is_future(event("a", datetime(2026, 12, 1)), NOW, POLICY.grace)


def test_rule2_full_when_forced_new_or_stale_else_incremental_with_overlap() -> None:
    recent = NOW - timedelta(hours=3)
    assert plan.decide(recent, NOW, plan.SyncPolicy(force_full=True)).sync_type == plan.FULL
    assert plan.decide(None, NOW, POLICY).sync_type == plan.FULL
    stale = plan.decide(NOW - timedelta(days=7, seconds=1), NOW, POLICY)
    assert stale.sync_type == plan.FULL and "7 days" in stale.reason
    incremental = plan.decide(recent, NOW, POLICY)
    assert incremental.sync_type == plan.INCREMENTAL
    assert incremental.modified_after == recent - timedelta(minutes=10)


def test_rule2_incremental_days_is_configurable() -> None:
    watermark = NOW - timedelta(days=2)
    policy = plan.SyncPolicy(incremental_days=1)
    assert plan.decide(watermark, NOW, policy).sync_type == plan.FULL
    assert plan.decide(watermark, NOW, POLICY).sync_type == plan.INCREMENTAL


def test_groups_put_one_race_in_one_call_per_sync_type() -> None:
    events = [
        event("1", NOW, "r1"),
        event("2", NOW, "r1"),
        event("3", NOW, "r1"),
        event("4", NOW, "r2"),
    ]
    watermarks = {"1": NOW - timedelta(hours=1), "2": NOW - timedelta(hours=5)}
    groups = plan.plan_groups(events, plan.ReadHistory(watermarks), NOW, POLICY)
    summary = {(g.race_id, g.sync_type): g.event_ids for g in groups}
    assert summary == {
        ("r1", "full"): ["3"],
        ("r1", "incremental"): ["1", "2"],
        ("r2", "full"): ["4"],
    }
    incremental = next(g for g in groups if g.sync_type == plan.INCREMENTAL)
    # The oldest watermark of the group, minus the overlap: nothing of either event is skipped.
    assert incremental.modified_after == NOW - timedelta(hours=5, minutes=10)


def test_rule4_watermark_is_the_sync_start_on_the_provider_clock_never_in_the_future() -> None:
    started = NOW - timedelta(minutes=5)
    provider_clock = NOW - timedelta(minutes=6)
    assert plan.next_watermark(started, provider_clock, NOW) == provider_clock
    # A provider clock running ahead of ours is not trusted beyond our own start.
    assert plan.next_watermark(started, NOW + timedelta(hours=1), NOW) == started
    assert plan.next_watermark(started, None, NOW) == started
    assert plan.next_watermark(NOW + timedelta(hours=2), None, NOW) == NOW
    assert plan.next_watermark(started, None, NOW).tzinfo is not None


# Pinned by the mutation check's survivors (docs/testing.md): boundaries, the per-event grouping
# the benchmarks use, and the reasons the engine logs and records per event.


def test_rule2_a_watermark_exactly_incremental_days_old_is_still_incremental() -> None:
    boundary = NOW - timedelta(days=POLICY.incremental_days)
    assert plan.decide(boundary, NOW, POLICY).sync_type == plan.INCREMENTAL
    older = boundary - timedelta(microseconds=1)
    assert plan.decide(older, NOW, POLICY).sync_type == plan.FULL


def test_rule2_each_decision_says_why() -> None:
    recent = NOW - timedelta(hours=3)
    forced = plan.decide(recent, NOW, plan.SyncPolicy(force_full=True))
    assert forced.reason == "forced"
    assert plan.decide(None, NOW, POLICY).reason == "no watermark (new event)"
    stale = plan.decide(NOW - timedelta(days=8), NOW, POLICY)
    assert stale.reason == "watermark older than 7 days"
    assert plan.decide(recent, NOW, POLICY).reason == "watermark"


def test_times_are_compared_in_utc_whatever_the_input_zone() -> None:
    tokyo = datetime(2026, 11, 29, 21, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert plan.as_utc(tokyo) == datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert plan.as_utc(tokyo).tzinfo is UTC  # not the machine's local zone


def test_per_event_grouping_gives_each_event_its_own_group_under_its_race() -> None:
    events = [event("1", NOW, "r1"), event("2", NOW, "r1"), event("3", NOW, "r2")]
    watermarks = {"1": NOW - timedelta(hours=1)}
    groups = plan.plan_groups(
        events, plan.ReadHistory(watermarks), NOW, POLICY, group_by_race=False
    )
    assert [(g.race_id, g.sync_type, g.event_ids) for g in groups] == [
        ("r1", "incremental", ["1"]),
        ("r1", "full", ["2"]),
        ("r2", "full", ["3"]),
    ]
    assert groups[0].reasons == {"1": "watermark"}
    assert groups[1].reasons == {"2": "no watermark (new event)"}


def test_rule8_an_event_whose_records_lack_times_is_read_whole_and_compared() -> None:
    recent = NOW - timedelta(hours=3)
    assert plan.decide(recent, NOW, POLICY, untimed=True) == plan.Decision(
        plan.FULL_COMPARE, "records without modification time", None
    )
    # Forced and new events are plain full reads whatever their records looked like.
    assert plan.decide(recent, NOW, plan.SyncPolicy(force_full=True), untimed=True).reason == (
        "forced"
    )
    assert plan.decide(None, NOW, POLICY, untimed=True).sync_type == plan.FULL
    events = [event("1", NOW, "r1"), event("2", NOW, "r1")]
    history = plan.ReadHistory({"1": recent, "2": recent}, untimed={"2"})
    groups = plan.plan_groups(events, history, NOW, POLICY)
    assert [(g.sync_type, g.event_ids, g.modified_after, dict(g.reasons)) for g in groups] == [
        (plan.FULL_COMPARE, ["2"], None, {"2": "records without modification time"}),
        (plan.INCREMENTAL, ["1"], recent - POLICY.overlap, {"1": "watermark"}),
    ]
