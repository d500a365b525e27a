"""Per-partner call budget: paces calls so a partner never trips the provider's hourly quota.

Two rules together: a token bucket (capacity = the hourly quota, refilled at quota per hour) and
a rolling one-hour window that never holds more than the quota. A first full sync of a big
partner may spend the whole budget at once; after that, calls flow as the window frees up, and
any trailing hour stays inside the budget however the calls are spread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

from p88_pipeline.providers.base import QuotaExhaustedError

WINDOW_S = 3600.0


class Clock(Protocol):
    """Seconds that only go forward, and a way to wait: the real ones, or a test's fake."""

    def __call__(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    def __call__(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class TokenBucket:
    def __init__(
        self,
        calls_per_hour: int,
        *,
        burst: int | None = None,
        spent: int = 0,
        max_wait_s: float = 120.0,
        clock: Clock | None = None,
    ) -> None:
        if calls_per_hour < 1:
            raise ValueError("calls_per_hour must be at least 1")
        self.quota = calls_per_hour
        self.capacity = float(min(burst or calls_per_hour, calls_per_hour))
        self.rate_per_s = calls_per_hour / WINDOW_S
        self.max_wait_s = max_wait_s
        self._clock = clock or MonotonicClock()
        self._sleep = self._clock.sleep
        self._tokens = self.capacity
        self._updated = self._clock()
        self._recent: deque[float] = deque()  # call times inside the rolling hour
        self._lock = threading.Lock()
        # Calls made elsewhere in the past hour count as if made just now (we don't know when):
        # conservative, and they leave the window an hour from now at the latest.
        spent = min(max(spent, 0), calls_per_hour)
        self._tokens -= spent
        self._recent.extend([self._updated] * spent)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now
        while self._recent and now - self._recent[0] >= WINDOW_S:
            self._recent.popleft()

    def _wait_needed(self, now: float) -> float:
        bucket = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate_per_s
        window = 0.0 if len(self._recent) < self.quota else self._recent[0] + WINDOW_S - now
        return max(bucket, window)

    def acquire(self) -> float:
        """Take one call's place, sleeping until one is due; returns seconds waited.

        Raises QuotaExhaustedError when the wait would exceed `max_wait_s`: the run stops cleanly
        and the next one resumes, rather than idling a worker for most of an hour.
        """
        with self._lock:
            waited = 0.0
            while True:
                now = self._clock()
                self._refill(now)
                wait = self._wait_needed(now)
                if wait <= 0:
                    break
                if waited + wait > self.max_wait_s:
                    raise QuotaExhaustedError(
                        f"call budget spent ({self.quota}/hour): next call allowed in "
                        f"{wait:.0f}s (> max wait {self.max_wait_s:.0f}s)"
                    )
                self._sleep(wait)
                waited += wait
            self._tokens -= 1.0
            self._recent.append(now)
            return waited
