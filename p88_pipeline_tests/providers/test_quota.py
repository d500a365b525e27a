"""The token bucket paces calls inside the hourly quota, on an injectable clock (no real sleeps)."""

import pytest

from p88_pipeline.providers.base import QuotaExhaustedError
from p88_pipeline.providers.quota import TokenBucket
from p88_pipeline_tests.helpers import FakeClock, most_calls_in_window


@pytest.mark.parametrize("quota", [500, 1000])
def test_any_trailing_hour_stays_inside_the_quota(quota: int) -> None:
    clock = FakeClock()
    bucket = TokenBucket(quota, clock=clock, max_wait_s=3600)
    times = []
    for _ in range(3 * quota):
        bucket.acquire()
        times.append(clock.now)
    assert most_calls_in_window(times, 3600.0) <= quota
    # Paced, not starved: the whole budget is usable at once, then again each hour.
    assert clock.now <= 2 * 3600 + 1


def test_a_first_full_sync_may_spend_the_whole_budget_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(500, clock=clock)
    for _ in range(500):
        bucket.acquire()
    assert clock.now == 0.0


def test_a_spent_budget_stops_instead_of_idling_for_an_hour() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, burst=2, clock=clock, max_wait_s=60)
    bucket.acquire()
    bucket.acquire()
    with pytest.raises(QuotaExhaustedError, match="budget spent"):
        bucket.acquire()


def test_calls_made_by_earlier_runs_this_hour_are_counted() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, spent=90, clock=clock, max_wait_s=60)
    for _ in range(10):
        bucket.acquire()
    assert clock.now == 0.0
    with pytest.raises(QuotaExhaustedError):
        bucket.acquire()


# Exact pacing figures (the mutation check's survivors, docs/testing.md): the tests above bound
# the window; these pin the bucket's arithmetic, the burst and the arguments' limits.


def test_a_quota_below_one_call_an_hour_is_refused() -> None:
    with pytest.raises(ValueError, match="^calls_per_hour must be at least 1$"):
        TokenBucket(0)
    clock = FakeClock()
    TokenBucket(1, clock=clock).acquire()  # one an hour is a quota
    assert clock.now == 0.0


def test_beyond_the_burst_a_call_waits_exactly_one_tokens_refill() -> None:
    clock = FakeClock()
    clock.now = 1000.0  # the clock's origin is arbitrary
    bucket = TokenBucket(7200, burst=1, clock=clock)  # 2 calls a second
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == 0.5
    assert clock.now == 1000.5
    clock.now += 10.0  # idle time refills only up to the burst
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == 0.5


def test_calls_spent_elsewhere_are_taken_from_the_burst_too() -> None:
    clock = FakeClock()
    bucket = TokenBucket(3600, burst=2, spent=1, clock=clock)
    bucket.acquire()
    assert clock.now == 0.0
    assert bucket.acquire() == 1.0


def test_the_window_frees_a_place_when_its_oldest_call_is_an_hour_old() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, clock=clock, max_wait_s=3600)
    bucket.acquire()
    clock.now = 100.0
    bucket.acquire()
    assert bucket.acquire() == 3500.0  # the call at 0 leaves the window at 3600, not later
    assert clock.now == 3600.0


def test_a_partly_refilled_token_waits_only_for_the_rest() -> None:
    clock = FakeClock()
    bucket = TokenBucket(7200, burst=1, clock=clock)  # 2 calls a second
    bucket.acquire()
    clock.now = 0.25  # half a token back
    assert bucket.acquire() == 0.25


def test_by_default_a_call_waits_at_most_two_minutes() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, clock=clock)
    bucket.acquire()
    clock.now = 3600.0 - 120.5  # the next place is 120.5 s away: just over the default
    with pytest.raises(QuotaExhaustedError, match="max wait 120s"):
        bucket.acquire()
    clock.now = 3600.0 - 120.0
    assert bucket.acquire() == 120.0
