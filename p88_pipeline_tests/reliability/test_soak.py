"""The soak at CI size: a few simulated days of changes, random faults and random sync modes; the
warehouse equals the truth after every day."""

from __future__ import annotations

import pytest

from p88_sandbox.commands.soak import FAULTS, run_soak, soak_plan

ACCOUNTS = [("haku", "alpha"), ("runsignup", "alpha"), ("runsignup", "bravo")]  # run_soak order


def test_the_soak_plan_is_deterministic_per_seed() -> None:
    assert soak_plan(30, 7, ACCOUNTS) == soak_plan(30, 7, ACCOUNTS)
    assert soak_plan(30, 7, ACCOUNTS) != soak_plan(30, 8, ACCOUNTS)
    kinds = {f.kind for day in soak_plan(30, 7, ACCOUNTS) for f in day.faults}
    assert kinds == set(FAULTS), "30 days exercise every fault kind"
    assert {day.mode for day in soak_plan(30, 7, ACCOUNTS)} == {"full", "incremental", "crash"}


@pytest.mark.soak
def test_a_small_soak_ends_every_day_equal_to_the_truth(engine) -> None:
    report = run_soak(engine, days=5, scale="tiny", seed=117, faults_per_day=4)
    print(report.summary())
    assert report.mismatches == 0 and report.unrecovered == 0, report.summary()
    assert report.crashes >= 2 and len(report.served) >= 8, report.summary()
    assert report.survived == report.served
    assert [d["mismatches"] for d in report.daily] == [0] * 6
