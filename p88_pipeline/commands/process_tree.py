"""Processes started under a parent, read from /proc, and stopping all of them.

`dagster dev` starts a webserver, a daemon and code servers, and those start run workers; some
of them outlive a parent that is told to stop. Snapshotting the tree before and while stopping
keeps every descendant in view even after its parent has gone and it was re-parented to init.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")


def _parent_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> set[int]:
    """Every live process below `root` (not `root` itself)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (parent := _parent_of(int(entry.name))) is not None:
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pids: Iterable[int]) -> set[int]:
    """The pids that still run (zombies count as gone: they only wait to be reaped)."""
    running = set()
    for pid in pids:
        try:
            state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.add(pid)
    return running


def _signal(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _wait(root: int, seen: set[int], seconds: float, poll_s: float) -> set[int]:
    """Wait until every process seen so far has ended; the ones still alive after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        seen |= descendants(root)
        running = alive(seen)
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(poll_s)


def stop_tree(
    root: int, interrupt_s: float = 4, term_s: float = 3, poll_s: float = 0.2
) -> set[int]:
    """Stop `root` and everything below it: SIGINT to its process group (what a terminal's
    Ctrl-C does, so each process shuts down cleanly), SIGTERM to what still runs after
    `interrupt_s`, SIGKILL to what still runs `term_s` later. Returns every pid it saw."""
    seen = descendants(root) | {root}
    try:
        os.killpg(os.getpgid(root), signal.SIGINT)
    except (ProcessLookupError, PermissionError):
        _signal([root], signal.SIGINT)
    if running := _wait(root, seen, interrupt_s, poll_s):
        _signal(running, signal.SIGTERM)
        if running := _wait(root, seen, term_s, poll_s):
            _signal(running, signal.SIGKILL)
            _wait(root, seen, 1, poll_s)
    return seen
