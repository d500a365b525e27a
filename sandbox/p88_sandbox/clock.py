"""Simulated time: the real UTC clock plus an offset the sandbox can move forward.

Riding on the real clock (instead of a frozen instant) keeps watermarks, token expiry and
"sync started at" stamps moving the way they do in production, while `advance` lets a test
jump a night ahead without waiting for it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SimClock:
    """Thread-safe `now()` = real UTC now + offset; `advance` only ever adds."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        """Aware UTC datetime of the simulated present."""
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    def advance(self, delta: timedelta) -> datetime:
        """Move simulated time forward by `delta`; returns the new now."""
        if delta < timedelta(0):
            raise ValueError("the sandbox clock never goes backwards")
        with self._lock:
            self._offset += delta
        return self.now()
