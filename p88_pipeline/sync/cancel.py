"""A stop request for the syncs running in this process (Ctrl-C / SIGTERM reach `p88 sync`, which
asks its workers). The engine checks it between pages and before each race, so a stop lands on a
page boundary: the open race's transaction rolls back and its watermark stays where it was."""

from __future__ import annotations

import threading

_requested = threading.Event()


class SyncInterruptedError(RuntimeError):
    """The sync was asked to stop; what was committed stays, the open race was rolled back."""


def request() -> None:
    """Safe from a signal handler: only sets a flag."""
    _requested.set()


def clear() -> None:
    _requested.clear()


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    if _requested.is_set():
        raise SyncInterruptedError("stop requested (Ctrl-C or SIGTERM): stopped at a page boundary")
