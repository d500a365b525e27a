"""Rule 7's budget arithmetic to the call: the hour of nearer syncs each farther group leaves
room for, the cost model's defaults, the ceiling keeping the partner's other settings, and the
missed-targets text. Written from the mutation run's survivors (docs/testing.md): the scenario
tests in test_freshness_plan.py pass with any of these figures off by one."""

from __future__ import annotations

from datetime import timedelta

from p88_pipeline.freshness.plan import (
    AccountState,
    CostModel,
    FreshnessTargets,
    estimate_costs,
    judge,
    minutes,
    plan_freshness,
)
from p88_pipeline_tests.sync.test_freshness_plan import NO_HISTORY, NOW, QUOTAS, TARGETS, ev

NEAR_SOON = timedelta(hours=30)  # race day (within 48 h)
SOON = timedelta(days=5)  # within 14 days
FRESH = timedelta(minutes=1)  # not due in any band
OVERDUE = timedelta(hours=7)  # due in every band


def plan(events, spent=None, quotas=QUOTAS, costs=NO_HISTORY, targets=TARGETS, stale=()):
    accounts = AccountState(quotas, spent or {}, stale)
    return plan_freshness(events, NOW, targets, accounts=accounts, costs=costs)


def chosen(events, **kwargs) -> list[str]:
    return [j.event.event_id for j in plan(events, **kwargs).chosen]


def test_the_budget_is_the_quota_share_minus_what_the_hour_spent_exactly() -> None:
    assert plan([]).budget == {"runsignup": 800, "haku": 400}  # nothing spent: 80 % of each
    # no nearer group: nothing reserved, the whole budget is the soon group's
    soon = [ev("soon", SOON, OVERDUE)]
    assert chosen(soon, spent={"runsignup": 798}) == ["soon"]  # 2 calls left, 2 needed


def test_each_nearer_group_reserves_its_calls_for_an_hour_by_its_nearest_event() -> None:
    """Two race-day races (2 calls every 8 minutes each: 15 an hour each) leave a soon group
    room only when 2 + 30 calls remain. A race with a race-day and a later event is race-day."""
    near = [
        ev("r1-near", NEAR_SOON, FRESH, race="r1"),
        ev("r2-near", NEAR_SOON, FRESH, race="r2"),
        ev("soon", SOON, OVERDUE),
    ]
    assert chosen(near, spent={"runsignup": 768}) == ["soon"]  # 32 left
    assert chosen(near, spent={"runsignup": 769}) == []  # 31 left
    mixed = [
        ev("r1-near", NEAR_SOON, FRESH, race="r1"),
        ev("r1-later", timedelta(days=60), FRESH, race="r1"),
        ev("soon", SOON, OVERDUE),
    ]
    assert chosen(mixed, spent={"runsignup": 783}) == ["soon"]  # 2 + 15 = 17 left
    assert chosen(mixed, spent={"runsignup": 784}) == []


def test_the_reserve_uses_the_provider_s_own_race_cost_and_at_least_a_minute_period() -> None:
    # Haku: 1 call a race, every 8 minutes: 7.5 an hour
    haku = [
        ev("near", NEAR_SOON, FRESH, provider="haku"),
        ev("soon", SOON, OVERDUE, race="r2", provider="haku"),
    ]
    assert chosen(haku, spent={"haku": 391}) == ["soon"]  # 9 left: 1 + 7.5 fits
    assert chosen(haku, spent={"haku": 392}) == []  # 8 left: 0.5 short
    # a 2-minute target minus the 2-minute lead: synced every minute (not every 0 minutes)
    tight = FreshnessTargets(near_minutes=2)
    events = [ev("near", NEAR_SOON, FRESH), ev("soon", SOON, OVERDUE, race="r2")]
    # the near group (always due) takes 2, the soon one needs 2 + 120 reserved
    assert chosen(events, targets=tight, spent={"runsignup": 676}) == ["near", "soon"]
    assert chosen(events, targets=tight, spent={"runsignup": 677}) == ["near"]


def test_a_provider_without_budget_is_missed_and_the_others_still_get_theirs() -> None:
    events = [
        ev("haku-first", timedelta(hours=2), OVERDUE, provider="haku"),
        ev("runsignup-later", timedelta(hours=3), OVERDUE),
    ]
    spent_out = plan(events, spent={"haku": 400})
    assert [j.event.event_id for j in spent_out.chosen] == ["runsignup-later"]
    assert [j.event.event_id for j in spent_out.missed] == ["haku-first"]
    no_account = plan(events, quotas={"runsignup": 1000})  # no haku quota: no haku budget
    assert [j.event.event_id for j in no_account.chosen] == ["runsignup-later"]
    assert [j.event.event_id for j in no_account.missed] == ["haku-first"]
    assert no_account.calls == {"runsignup": 2.0}


def test_a_stale_events_list_is_charged_with_the_first_group() -> None:
    result = plan(
        [ev("r1", timedelta(hours=3), OVERDUE)],
        costs=CostModel(events_list={"runsignup": 3}),
        stale=["runsignup"],
    )
    assert result.list_reads == ("runsignup",)
    assert result.calls == {"runsignup": 5.0, "haku": 0.0}


def test_cost_model_defaults_and_the_median_of_an_even_count() -> None:
    assert CostModel().group("runsignup", 5) == 2.0  # no history: the race floor, not per event
    assert CostModel().group("haku", 0) == 1.0  # its spec's floor: one registrations read
    costs = estimate_costs(
        [("runsignup", 10, 5), ("runsignup", 30, 5)], {"runsignup": 0, "haku": 1}
    )
    assert costs.per_event == {"runsignup": 6.0}  # calls per event 2 and 6: the upper middle
    assert costs.events_list == {"runsignup": 1.0, "haku": 1.0}  # at least one call


def test_the_interval_ceiling_keeps_the_partner_s_other_freshness_settings() -> None:
    own = FreshnessTargets(near_hours=24, soon_days=7, quota_share=0.5, lead_minutes=5)
    assert own.capped(30) == FreshnessTargets(10, 30, 30, 24, 7, 0.5, 5)
    assert own.capped(None) is own


def test_events_without_a_start_time_sort_last_and_lags_read_in_minutes_then_hours() -> None:
    undated = judge(
        [ev("undated", None, None), ev("dated", timedelta(days=30), None)], NOW, TARGETS
    )
    assert [j.event.event_id for j in undated] == ["dated", "undated"]
    assert minutes(timedelta(minutes=119)) == "119 min"
    assert minutes(timedelta(minutes=120)) == "2.0 h"
    assert minutes(timedelta(minutes=-150)) == "-2.5 h"


def test_the_missed_text_shows_ten_and_counts_the_rest() -> None:
    events = [ev(f"e{i:02}", SOON, OVERDUE) for i in range(12)]
    result = plan(events, spent={"runsignup": 800})
    text = result.missed_text(TARGETS)
    assert text.count("runsignup e") == 10 and "runsignup e09 " in text
    assert text.endswith("target 60 min; and 2 more")
    assert result.missed_text(TARGETS, limit=12).endswith(
        "runsignup e11 (within 14 days): 7.0 h behind, target 60 min"
    )
    assert plan(events).missed_text(TARGETS) == ""  # nothing missed: no text


def test_a_race_taken_once_does_not_end_the_plan_at_its_next_due_event() -> None:
    events = [
        ev("a1", timedelta(hours=2), OVERDUE, race="r1"),
        ev("a2", timedelta(hours=2, minutes=1), OVERDUE, race="r1"),  # its race already taken
        ev("b1", timedelta(hours=3), OVERDUE, race="r2"),
    ]
    result = plan(events)
    assert [j.event.event_id for j in result.chosen] == ["a1", "a2", "b1"]
    assert result.calls["runsignup"] == 4.0  # each race group charged once
