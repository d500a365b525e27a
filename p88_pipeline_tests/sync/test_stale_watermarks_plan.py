"""The watermark sensor's decision, one test per rule."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from p88_pipeline.partners import Partner
from p88_pipeline.sync.stale_watermarks_plan import (
    PartnerDecision,
    decide_partner,
    interval_window,
    plan_incremental_runs,
    skip_summary,
    tick_headline,
    watermark_label,
)
from p88_pipeline.warehouse.staleness import PartnerFreshness

NOW = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)


def partner(slug: str = "acme", interval: int = 60, active: bool = True) -> Partner:
    return Partner(
        id=f"id-{slug}", slug=slug, name=slug, active=active, sync_interval_minutes=interval
    )


def fresh(
    oldest: datetime | None, *, events: int = 3, future: int = 2, never: int = 0
) -> PartnerFreshness:
    return PartnerFreshness("id-acme", events, future, never, oldest)


def test_partner_with_no_events_yet_is_due() -> None:
    decision = decide_partner(partner(), None, NOW)
    assert decision.due
    assert decision.run_key == f"acme:no-events:w{interval_window(NOW, 60)}"


def test_partner_whose_oldest_watermark_is_older_than_its_interval_is_due() -> None:
    oldest = NOW - timedelta(minutes=61)
    decision = decide_partner(partner(), fresh(oldest), NOW)
    assert decision.due
    assert decision.run_key.startswith(f"acme:{watermark_label(oldest)}:")
    assert watermark_label(oldest) == "20260501T112900Z"


def test_partner_within_its_interval_is_not_due() -> None:
    decision = decide_partner(partner(), fresh(NOW - timedelta(minutes=59)), NOW)
    assert not decision.due
    assert decision.run_key is None


def test_per_partner_interval_overrides_the_default() -> None:
    forty_minutes_old = fresh(NOW - timedelta(minutes=40))
    assert decide_partner(partner(interval=30), forty_minutes_old, NOW).due
    assert not decide_partner(partner(interval=60), forty_minutes_old, NOW).due


def test_future_event_never_synced_makes_partner_due_even_with_fresh_watermarks() -> None:
    decision = decide_partner(partner(), fresh(NOW - timedelta(minutes=1), never=1), NOW)
    assert decision.due
    assert decision.run_key.startswith("acme:unsynced:")


def test_unsynced_run_key_does_not_follow_other_events_watermarks() -> None:
    """A failing event must not re-trigger a run on every tick while the others advance."""
    first = decide_partner(partner(), fresh(NOW - timedelta(minutes=5), never=1), NOW)
    later = NOW + timedelta(minutes=2)
    second = decide_partner(partner(), fresh(later - timedelta(seconds=30), never=1), later)
    assert first.run_key == second.run_key


def test_failed_run_is_retried_once_per_interval_not_per_tick() -> None:
    oldest = NOW - timedelta(hours=3)
    keys = {
        decide_partner(partner(), fresh(oldest), NOW + timedelta(minutes=m)).run_key
        for m in range(0, 60)
    }
    assert len(keys) == 2  # the hour boundary at 13:00 opens one new retry slot, no more


def test_partner_with_only_past_events_is_left_to_the_nightly_run() -> None:
    decision = decide_partner(partner(), fresh(None, events=5, future=0), NOW)
    assert not decision.due


def test_inactive_unregistered_and_busy_partners_get_no_runs() -> None:
    partners = [partner("off", active=False), partner("new"), partner("busy"), partner("due")]
    decisions = plan_incremental_runs(
        partners, {}, NOW, registered={"off", "busy", "due"}, busy={"busy"}
    )
    assert [(d.slug, d.due) for d in decisions] == [
        ("off", False),
        ("new", False),
        ("busy", False),
        ("due", True),
    ]
    assert [d.reason for d in decisions[:3]] == [
        "inactive",
        "not yet a partition",
        "a sync is queued or running",
    ]


def test_each_decision_whole_reason_and_run_key() -> None:
    """Every branch's decision as one value (1777638600 s is NOW: window 493788 of an hour)."""
    p = partner()
    stale = NOW - timedelta(minutes=61)
    assert decide_partner(p, fresh(None, events=0), NOW) == PartnerDecision(
        "acme", True, "no events stored yet", "acme:no-events:w493788"
    )
    assert decide_partner(p, fresh(None, events=1, future=0), NOW) == PartnerDecision(
        "acme", False, "no future events (the nightly run looks for new ones)"
    )
    assert decide_partner(p, fresh(None, never=2), NOW) == PartnerDecision(
        "acme", True, "2 future events never synced", "acme:unsynced:w493788"
    )
    assert decide_partner(p, fresh(None), NOW) == PartnerDecision(
        "acme", True, "oldest future-event watermark none is older than 60 min", "acme:none:w493788"
    )
    assert decide_partner(p, fresh(stale), NOW) == PartnerDecision(
        "acme",
        True,
        "oldest future-event watermark 20260501T112900Z is older than 60 min",
        "acme:20260501T112900Z:w493788",
    )
    # Exactly one interval old is still fresh: due only once older than the interval.
    assert decide_partner(p, fresh(NOW - timedelta(minutes=60)), NOW) == PartnerDecision(
        "acme", False, "fresh: oldest watermark 20260501T113000Z within 60 min"
    )


def test_interval_windows_are_whole_intervals_and_at_least_a_minute() -> None:
    assert interval_window(NOW, 60) == 493788
    assert interval_window(NOW, 1) == interval_window(NOW, 0) == 29627310


def test_labels_are_utc_whatever_the_zones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        tokyo = datetime(2026, 5, 1, 21, 29, tzinfo=ZoneInfo("Asia/Tokyo"))
        assert watermark_label(tokyo) == "20260501T122900Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_freshness_is_looked_up_by_partner_id() -> None:
    decisions = plan_incremental_runs([partner()], {"id-acme": fresh(NOW)}, NOW)
    assert [(d.due, d.reason) for d in decisions] == [
        (False, "fresh: oldest watermark 20260501T123000Z within 60 min")
    ]


def test_the_tick_says_who_is_due_or_how_many_are_in_which_state() -> None:
    due = [PartnerDecision("a", True, "x", "k"), PartnerDecision("b", True, "y", "k2")]
    assert tick_headline(due + [PartnerDecision("c", False, "inactive")]) == "due: a, b"
    idle = [
        PartnerDecision("a", False, "fresh: oldest watermark 20260501T113000Z within 60 min"),
        PartnerDecision("b", False, "fresh: oldest watermark 20260501T120000Z within 60 min"),
        PartnerDecision("c", False, "no future events (the nightly run looks for new ones)"),
        PartnerDecision("d", False, "inactive"),
    ]
    assert tick_headline(idle) == "no partner due: 2 fresh, 1 no future events, 1 inactive"
    assert tick_headline([]) == "no partner due: no partners"
    assert skip_summary(idle[2:]) == (
        "no partner due: 1 no future events, 1 inactive. "
        "c: no future events (the nightly run looks for new ones); d: inactive"
    )
    assert skip_summary(idle[2:], limit=20) == "no partner due: 1 no"
    many = [PartnerDecision(f"partner-{i}", False, "inactive") for i in range(100)]
    assert len(skip_summary(many)) == 1000  # a tick's skip reason stays short by default
