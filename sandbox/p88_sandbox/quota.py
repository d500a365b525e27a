"""Per-partner, per-provider call quotas on the wall clock (a sliding window, like real limits).

Wall clock, not simulated time: advancing the world a day must not refill a budget a sync is
still spending, and tests want small windows they can actually wait out.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowQuota:
    """`acquire` spends one call or says how many seconds until one frees up."""

    def __init__(
        self,
        limit_for: Callable[[str], int],
        window_for: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit_for = limit_for
        self._window_for = window_for
        self._clock = clock
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, provider: str, partner_slug: str) -> int | None:
        """None when the call may proceed (and is counted), else Retry-After seconds (>= 1)."""
        now = self._clock()
        window = self._window_for()
        limit = self._limit_for(provider)
        with self._lock:
            calls = self._calls.setdefault((provider, partner_slug), deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) >= limit:
                return max(1, math.ceil(calls[0] + window - now))
            calls.append(now)
            return None
