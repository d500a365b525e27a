"""Rule 7, freshness by proximity: bands, targets, due events and the quota budget, one test per
rule; and the partners.yaml overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from p88_pipeline.config.partners import PartnerConfigError, parse_partners
from p88_pipeline.freshness.plan import (
    LATER,
    NEAR,
    SOON,
    AccountState,
    CostModel,
    EventWatermark,
    FreshnessTargets,
    estimate_costs,
    judge,
    plan_freshness,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TARGETS = FreshnessTargets()
QUOTAS = {"runsignup": 1000, "haku": 500}
NO_HISTORY = CostModel()


def ev(
    event_id: str,
    starts_in: timedelta | None,
    lag: timedelta | None,
    race: str | None = None,
    provider: str = "runsignup",
) -> EventWatermark:
    return EventWatermark(
        provider,
        event_id,
        race or event_id,
        None if starts_in is None else NOW + starts_in,
        None if lag is None else NOW - lag,
    )


def plan(events, spent=None, costs=NO_HISTORY, targets=TARGETS, stale=()):
    accounts = AccountState(QUOTAS, spent or {}, stale)
    return plan_freshness(events, NOW, targets, accounts=accounts, costs=costs)


def test_bands_by_how_soon_the_event_starts_grace_included() -> None:
    band = lambda delta: TARGETS.band(NOW + delta, NOW)  # noqa: E731
    assert band(timedelta(hours=-20)) == NEAR  # started, still inside the grace window
    assert band(timedelta(hours=48)) == NEAR
    assert band(timedelta(hours=48, seconds=1)) == SOON
    assert band(timedelta(days=14)) == SOON
    assert band(timedelta(days=14, seconds=1)) == LATER
    assert TARGETS.band(None, NOW) == LATER  # no start time: not race day
    assert [TARGETS.target(b) for b in (NEAR, SOON, LATER)] == [
        timedelta(minutes=10),
        timedelta(minutes=60),
        timedelta(hours=6),
    ]


def test_proximity_is_the_race_s_own_instant_across_zones() -> None:
    """07:00 in Honolulu two days from now is 17:00 UTC: 53 h away, not 'within 48 h'."""
    local = datetime(2026, 5, 3, 7, 0, tzinfo=ZoneInfo("Pacific/Honolulu"))
    assert TARGETS.band(local, NOW) == SOON
    assert TARGETS.band(local, NOW + timedelta(hours=6)) == NEAR


def test_an_event_is_due_when_its_lag_reaches_its_target_within_the_lead() -> None:
    judged = {
        j.event.event_id: j
        for j in judge(
            [
                ev("near-fresh", timedelta(hours=5), timedelta(minutes=7)),
                ev("near-due", timedelta(hours=5), timedelta(minutes=8)),
                ev("soon-fresh", timedelta(days=3), timedelta(minutes=50)),
                ev("soon-due", timedelta(days=3), timedelta(minutes=59)),
                ev("later-fresh", timedelta(days=90), timedelta(hours=5)),
                ev("later-due", timedelta(days=90), timedelta(hours=6)),
                ev("new", timedelta(days=90), None),
            ],
            NOW,
            TARGETS,
        )
    }
    assert {k for k, j in judged.items() if j.due} == {"near-due", "soon-due", "later-due", "new"}
    assert judged["near-due"].reason(TARGETS) == (
        "runsignup near-due (within 48 h): 8 min behind, target 10 min"
    )
    assert judged["new"].reason(TARGETS) == "runsignup new (later): never synced"


def test_only_due_events_and_their_race_siblings_are_chosen() -> None:
    result = plan(
        [
            ev("a1", timedelta(hours=3), timedelta(minutes=12), race="r1"),
            ev("a2", timedelta(hours=3), timedelta(minutes=1), race="r1"),  # sibling: free
            ev("b1", timedelta(days=30), timedelta(hours=1)),
        ]
    )
    assert result.due_ids() == ["runsignup:a1", "runsignup:a2"]
    assert result.calls["runsignup"] == 2  # one race group: participants + removed
    assert not result.missed


def test_over_budget_the_nearest_events_win_and_the_rest_are_reported() -> None:
    events = [
        ev("far", timedelta(days=60), timedelta(hours=7)),
        ev("soon", timedelta(days=5), timedelta(minutes=70)),
        ev("near", timedelta(hours=30), timedelta(minutes=25)),
    ]
    # 80 % of 1000 is 800; 796 spent leaves 4 calls: the race-day group first
    result = plan(events, spent={"runsignup": 796})
    assert result.due_ids() == ["runsignup:near"]
    assert [j.event.event_id for j in result.missed] == ["soon", "far"]
    assert result.budget["runsignup"] == 4
    assert result.missed[1].over_by == timedelta(hours=1)
    assert result.missed_text(TARGETS) == (
        "over budget, missed targets: runsignup soon (within 14 days): 70 min behind, target "
        "60 min; runsignup far (later): 7.0 h behind, target 6.0 h"
    )


def test_farther_events_leave_an_hour_of_race_day_syncs_in_the_budget() -> None:
    """A race-day group costs 2 calls every 8 minutes: 15 calls an hour stay reserved."""
    events = [
        ev("soon", timedelta(days=5), timedelta(minutes=70)),
        ev("near", timedelta(hours=30), timedelta(minutes=1)),  # not due, but coming
    ]
    assert plan(events, spent={"runsignup": 783}).due_ids() == ["runsignup:soon"]  # 2 + 15 <= 17
    squeezed = plan(events, spent={"runsignup": 784})  # 16 left
    assert squeezed.due_ids() == [] and [j.event.event_id for j in squeezed.missed] == ["soon"]


def test_budgets_are_per_account_and_a_stale_events_list_is_charged_once() -> None:
    events = [
        ev("h1", timedelta(hours=2), timedelta(minutes=30), provider="haku"),
        ev("h2", timedelta(hours=3), timedelta(minutes=30), provider="haku"),
        ev("r1", timedelta(hours=3), timedelta(minutes=30)),
    ]
    costs = CostModel(events_list={"haku": 3})
    # haku: 400 - 395 = 5 calls: list (3) + h1 (1) + h2 (1); runsignup untouched by haku's spend
    result = plan(events, spent={"haku": 395}, costs=costs, stale=["haku"])
    assert result.due_ids() == ["haku:h1", "haku:h2", "runsignup:r1"]
    assert result.list_reads == ("haku",)
    assert result.calls == {"runsignup": 2, "haku": 5}
    tighter = plan(events, spent={"haku": 396}, costs=costs, stale=["haku"])
    assert [j.event.event_id for j in tighter.missed] == ["h2"]


def test_cost_estimate_is_the_median_of_recent_runs_and_never_below_a_race_s_floor() -> None:
    costs = estimate_costs(
        [("runsignup", 2, 1), ("runsignup", 300, 20), ("runsignup", 4, 1), ("haku", 0, 0)],
        {"haku": 2},
    )
    assert costs.per_event == {"runsignup": 4.0}
    assert costs.group("runsignup", 1) == 4.0
    assert costs.group("haku", 1) == 1.0  # no history: the floor
    assert costs.list_read("haku") == 2.0
    assert costs.list_read("runsignup") == 1.0


def test_sync_interval_minutes_is_a_ceiling_on_every_target() -> None:
    capped = FreshnessTargets().capped(30)
    assert [capped.target(b) for b in (NEAR, SOON, LATER)] == [
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(minutes=30),
    ]


PARTNER = """
partners:
  - id: 1
    slug: one
    {extra}
    providers:
      runsignup:
        base_url: https://runsignup.com/Rest
        api_key_env: ONE_KEY
        api_secret_env: ONE_SECRET
"""


def test_partners_yaml_overrides_targets_per_partner() -> None:
    extra = "freshness: {near_minutes: 5, later_minutes: 120, quota_share: 0.5}"
    text = PARTNER.format(extra=extra)
    (partner,) = parse_partners(text)
    assert partner.targets == FreshnessTargets(near_minutes=5, later_minutes=120, quota_share=0.5)
    (plain,) = parse_partners(PARTNER.format(extra="name: One"))
    assert plain.targets == FreshnessTargets()
    assert plain.sync_interval_minutes is None


def test_bad_freshness_overrides_are_refused_one_line_each() -> None:
    extra = "freshness: {near_minute: 5, soon_minutes: 0, quota_share: 1.5, near_hours: 400}"
    with pytest.raises(PartnerConfigError) as caught:
        parse_partners(PARTNER.format(extra=extra), source="p.yaml")
    assert caught.value.problems == [
        "p.yaml: partner one: freshness: unknown key near_minute (did you mean near_minutes?); "
        "allowed: near_minutes, soon_minutes, later_minutes, near_hours, soon_days, "
        "quota_share, lead_minutes",
        "p.yaml: partner one: freshness: soon_minutes must be a whole number > 0, got 0",
        "p.yaml: partner one: freshness: quota_share must be a number > 0 and <= 1, got 1.5",
        "p.yaml: partner one: freshness: near_hours (400) must not exceed soon_days x 24",
    ]
