"""Per-partner call budget: a token bucket that paces calls instead of tripping the quota.

Sized so that burst + refill over one hour never exceeds the hourly quota: any trailing hour stays
inside the budget, however the calls are spread. Half the quota is burst (a first full sync of a
big partner needs it at once), half refills over the hour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from p88_pipeline.providers.base import QuotaExhaustedError


class TokenBucket:
    def __init__(
        self,
        calls_per_hour: int,
        *,
        burst: int | None = None,
        max_wait_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls_per_hour < 1:
            raise ValueError("calls_per_hour must be at least 1")
        self.capacity = float(burst if burst is not None else max(1, calls_per_hour // 2))
        self.capacity = min(self.capacity, float(calls_per_hour))
        refill_per_hour = max(calls_per_hour - self.capacity, 1.0)
        self.rate_per_s = refill_per_hour / 3600.0
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now

    def acquire(self) -> float:
        """Take one call's token, sleeping until one is due; returns seconds waited.

        Raises QuotaExhaustedError when the wait would exceed `max_wait_s`: the run stops cleanly
        and the next one resumes, rather than idling a worker for most of an hour.
        """
        with self._lock:
            self._refill()
            wait = 0.0
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.rate_per_s
                if wait > self.max_wait_s:
                    raise QuotaExhaustedError(
                        f"call budget spent: next call allowed in {wait:.0f}s "
                        f"(> max wait {self.max_wait_s:.0f}s)"
                    )
                self._sleep(wait)
                self._refill()
            self._tokens -= 1.0
            return wait
