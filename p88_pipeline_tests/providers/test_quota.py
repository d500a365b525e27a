"""The token bucket paces calls inside the hourly quota, on an injectable clock (no real sleeps)."""

import pytest

from p88_pipeline.providers.base import QuotaExhaustedError
from p88_pipeline.providers.quota import TokenBucket
from p88_pipeline_tests.helpers import FakeClock, most_calls_in_window


@pytest.mark.parametrize("quota", [500, 1000])
def test_any_trailing_hour_stays_inside_the_quota(quota: int) -> None:
    clock = FakeClock()
    bucket = TokenBucket(quota, clock=clock, sleep=clock.sleep, max_wait_s=3600)
    times = []
    for _ in range(3 * quota):
        bucket.acquire()
        times.append(clock.now)
    assert most_calls_in_window(times, 3600.0) <= quota
    # Paced, not starved: the whole budget is usable at once, then again each hour.
    assert clock.now <= 2 * 3600 + 1


def test_a_first_full_sync_may_spend_the_whole_budget_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(500, clock=clock, sleep=clock.sleep)
    for _ in range(500):
        bucket.acquire()
    assert clock.now == 0.0


def test_a_spent_budget_stops_instead_of_idling_for_an_hour() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, burst=2, clock=clock, sleep=clock.sleep, max_wait_s=60)
    bucket.acquire()
    bucket.acquire()
    with pytest.raises(QuotaExhaustedError, match="budget spent"):
        bucket.acquire()


def test_calls_made_by_earlier_runs_this_hour_are_counted() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, spent=90, clock=clock, sleep=clock.sleep, max_wait_s=60)
    for _ in range(10):
        bucket.acquire()
    assert clock.now == 0.0
    with pytest.raises(QuotaExhaustedError):
        bucket.acquire()
