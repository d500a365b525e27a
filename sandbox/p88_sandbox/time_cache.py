"""Per-event base modification times, computed once and kept within a memory bound.

Paging and sorting ask for every record's modified_at, so an event's times are worth keeping while
a client pages it; keeping every event's (4 million datetimes at scale 10x) is not.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime

# About 25 MB of datetimes: the seed world's 407,053 all fit, a 10x world cycles through them.
DEFAULT_MAX_TIMES = 500_000


class TimeCache:
    """Least recently used events are dropped once the times held exceed `max_times`."""

    def __init__(self, max_times: int = DEFAULT_MAX_TIMES) -> None:
        self.max_times = max_times
        self._held = 0
        self._times: OrderedDict[Hashable, list[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], list[datetime]]) -> list[datetime]:
        with self._lock:
            times = self._times.get(key)
            if times is not None:
                self._times.move_to_end(key)
                return times
        times = compute()  # outside the lock: a race computes twice, the same values
        with self._lock:
            if key not in self._times:
                self._times[key] = times
                self._held += len(times)
            while self._held > self.max_times and len(self._times) > 1:
                _, dropped = self._times.popitem(last=False)
                self._held -= len(dropped)
        return times
