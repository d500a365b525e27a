"""The watermark sensor's decision, one test per rule (rule 7: only the due events run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from p88_pipeline.config.partners import Partner, ProviderAccount
from p88_pipeline.freshness.due_runs import (
    DagsterView,
    decide_partner,
    interval_window,
    plan_incremental_runs,
)
from p88_pipeline.freshness.inputs import PartnerInputs
from p88_pipeline.freshness.plan import EventWatermark
from p88_pipeline.freshness.staleness import PartnerFreshness

NOW = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
ACCOUNT = ProviderAccount("runsignup", "http://x/Rest", {}, 1000)
NEXT_MONTH = NOW + timedelta(days=30)


def partner(slug: str = "acme", interval: int | None = None, active: bool = True) -> Partner:
    return Partner(
        id=f"id-{slug}",
        slug=slug,
        name=slug,
        active=active,
        sync_interval_minutes=interval,
        accounts={"runsignup": ACCOUNT},
    )


def fresh(*, events: int = 3, future: int = 2) -> PartnerFreshness:
    return PartnerFreshness("id-acme", events, future, 0, None)


def held(*events: tuple[str, datetime | None, datetime | None]) -> PartnerInputs:
    """Stored future events (id, start, watermark), each its own race; the list read just now."""
    return PartnerInputs(
        events=[EventWatermark("runsignup", e, e, start, wm) for e, start, wm in events],
        list_reads={"runsignup": (NOW, 1)},
    )


def test_partner_with_no_events_yet_gets_a_whole_run() -> None:
    decision = decide_partner(partner(), None, NOW)
    assert decision.due
    assert decision.due_events is None  # a whole run: it reads the events list
    assert decision.run_key == f"acme:no-events:w{interval_window(NOW, 60)}"


def test_partner_with_a_due_event_gets_a_run_of_that_event_only() -> None:
    inputs = held(("late", NEXT_MONTH, NOW - timedelta(hours=7)), ("ok", NEXT_MONTH, NOW))
    decision = decide_partner(partner(), fresh(), NOW, inputs)
    assert decision.due
    assert decision.due_events == ("runsignup:late",)
    assert decision.run_key.startswith("acme:due-")
    assert decision.reason.startswith("1 events due (1 later), 1 synced, ~2 calls")


def test_partner_whose_events_are_within_their_targets_is_not_due() -> None:
    inputs = held(("far", NEXT_MONTH, NOW - timedelta(hours=5)))
    decision = decide_partner(partner(), fresh(), NOW, inputs)
    assert not decision.due
    assert decision.run_key is None
    assert decision.reason == "fresh: next event due in 58 min"


def test_sync_interval_minutes_is_a_ceiling() -> None:
    forty_minutes_old = held(("e", NEXT_MONTH, NOW - timedelta(minutes=40)))
    assert decide_partner(partner(interval=30), fresh(), NOW, forty_minutes_old).due
    assert not decide_partner(partner(), fresh(), NOW, forty_minutes_old).due


def test_future_event_never_synced_makes_partner_due_even_with_fresh_watermarks() -> None:
    inputs = held(("new", NEXT_MONTH, None), ("ok", NEXT_MONTH, NOW))
    decision = decide_partner(partner(), fresh(), NOW, inputs)
    assert decision.due_events == ("runsignup:new",)
    assert "1 never synced" in decision.reason


def test_run_key_changes_once_the_due_events_watermarks_move() -> None:
    before = held(("e", NEXT_MONTH, NOW - timedelta(hours=7)))
    after = held(("e", NEXT_MONTH, NOW - timedelta(hours=7, minutes=-1)))
    assert (
        decide_partner(partner(), fresh(), NOW, before).run_key
        != decide_partner(partner(), fresh(), NOW, after).run_key
    )


def test_failed_run_is_retried_once_per_target_not_per_tick() -> None:
    """The watermarks stay where they were: the key changes only with the 10-minute window."""
    near = held(("e", NOW + timedelta(hours=5), NOW - timedelta(hours=3)))
    keys = {
        decide_partner(partner(), fresh(), NOW + timedelta(minutes=m), near).run_key
        for m in range(0, 30)
    }
    assert len(keys) == 3


def test_partner_with_only_past_events_is_left_to_the_nightly_run() -> None:
    decision = decide_partner(partner(), fresh(events=5, future=0), NOW)
    assert not decision.due


def test_inactive_unregistered_and_busy_partners_get_no_runs() -> None:
    partners = [partner("off", active=False), partner("new"), partner("busy"), partner("due")]
    decisions = plan_incremental_runs(
        partners, {}, NOW, dagster=DagsterView(registered={"off", "busy", "due"}, busy={"busy"})
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
