"""The watermark sensor's decision, one test per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from p88_pipeline.partners import Partner
from p88_pipeline.sync.stale_watermarks_plan import (
    decide_partner,
    interval_window,
    plan_incremental_runs,
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
