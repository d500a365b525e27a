"""Worker-side progress sampling (commands/supervisor.py's workers): while a task runs, a thread
samples its progress and sends what changed over the answers' pipe, so the supervisor's display
follows the task without the task knowing of it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SAMPLE_S = 0.5  # how often a worker samples its progress (sent only when it changed)


def _sample(sampler: Callable[[str], Any], slug: str, send, stop: threading.Event) -> None:
    """Send the task's progress whenever it changed, and once more as the task ends. A failing
    sample ends the sampling, never the task (and prints nothing over the display)."""
    last = None
    ended = False
    while not ended:
        ended = stop.wait(SAMPLE_S)
        try:
            value = sampler(slug)
            if value != last:
                send(("progress", value))
                last = value
        except Exception:
            return


@contextmanager
def sampling(
    sampler: Callable[[str], Any], slug: str, send: Callable[[tuple[str, Any]], None]
) -> Iterator[None]:
    """One sampling thread for the task run inside the block; its last sample is sent before the
    block ends (so before the task's answer: progress never arrives after its answer)."""
    stop = threading.Event()
    thread = threading.Thread(target=_sample, args=(sampler, slug, send, stop))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
