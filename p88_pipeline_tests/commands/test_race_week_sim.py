"""Rule 7 end to end, short: two simulated race-week hours of the small world on the sandbox's
fake clock, one account squeezed (quota 40/hour, far events wanted every 30 minutes) so the
budget must choose. Race-day events never fall behind their 10-minute target (measured every
simulated minute), no account exceeds its quota in any rolling hour of the sandbox's own request
log, and the warehouse equals the truth at the end. No nightly run in these two hours, whatever
the time of day the suite runs: on an account this tight, the nightly's own calls would leave
race day short of budget. The full week: `p88 soak --race-week`."""

from __future__ import annotations

import sqlalchemy as sa

from p88_pipeline.freshness.plan import FreshnessTargets
from p88_sandbox.commands.race_week import run_race_week

SQUEEZED = FreshnessTargets(soon_minutes=30, later_minutes=30)


def test_race_week_keeps_race_day_fresh_inside_the_quota(engine: sa.Engine) -> None:
    report = run_race_week(
        engine,
        days=2 / 24,
        scale="small",
        quotas={("runsignup", "charlie"): 40},
        freshness={"charlie": SQUEEZED},
        nightly_hour=None,  # the same two hours whatever the time of day the suite runs
    )

    assert report.lags["within 48 h"], "the small world has race-day events from the start"
    assert report.near_over == []
    assert max(report.lags["within 48 h"]) <= 10
    assert report.busiest["runsignup charlie"] <= 40
    assert report.over_quota == []
    assert report.budget_misses["later"] > 0  # the squeeze bit: far events waited, not race day
    assert report.mismatches == 0
    assert report.old_same_lag > report.calls_total
