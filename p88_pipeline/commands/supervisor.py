"""Partner runs in worker processes, supervised: signals, bounded waits, no orphans.

Dagster's in-process execution is not thread-safe, so partners run side by side in processes.
The supervisor (the `p88` process) owns every decision about stopping:
- workers sit in their own process group, so a terminal's Ctrl-C reaches the supervisor only;
- the first SIGINT/SIGTERM stops handing out partners and asks the running ones (SIGUSR1) to stop
  at the next page boundary, then waits at most `grace_s` before killing them;
- a second signal kills the workers at once;
- workers die with the supervisor (PR_SET_PDEATHSIG), so even a SIGKILL leaves no orphan.

Progress rides the answers' pipe: while a task runs, a worker thread samples `sampler_path`
("module:function", given the slug) and sends what changed as ("progress", value), then the answer
as ("result", value): one channel, so progress never arrives after its answer.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from p88_pipeline.commands.sampling import sampling

log = logging.getLogger("p88.supervisor")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# While a worker starts, SIGINT is ignored (a child keeps an ignored SIGINT, so a Ctrl-C before it
# leaves our process group does not interrupt it) and SIGUSR1 blocked (the mask is inherited; the
# worker unblocks it once its handler is in place: an early stop request is late, not lost).
STARTUP_BLOCKED = (signal.SIGUSR1,)

Task = tuple[str, str, dict[str, Any]]  # (partner slug, job name, run config)
Runner = Callable[[str, str, dict[str, Any]], dict[str, Any]]


@dataclass
class Outcome:
    """What the supervisor saw of one partner (the run's own figures are in sync_runs)."""

    slug: str
    result: dict[str, Any] = field(default_factory=dict)  # the worker's answer, if any
    started: bool = False
    duration_s: float = 0.0
    note: str | None = None  # why there is no answer: not started, killed, worker died


@dataclass(frozen=True)
class Workers:
    """What each worker process runs: `setup` once, then `runner_path` ("module:function") on
    each task while `sampler_path` is sampled; at most `parallel` of them. Paths, not functions:
    a spawned worker imports them itself."""

    runner_path: str
    setup: Callable[[], None]
    parallel: int = 1
    sampler_path: str | None = None


@dataclass(frozen=True)
class Reporting:
    """What the supervisor tells as it goes: its own lines (`say`), what the unfinished tasks wait
    for (`waiting`, every `note_every_s`), each task's progress and, as it ends, its outcome."""

    say: Callable[[str], None] = print
    waiting: Callable[[list[tuple[str, float]]], list[str]] | None = None
    note_every_s: float = 30.0
    on_progress: Callable[[str, Any], None] | None = None
    on_done: Callable[[Outcome], None] | None = None


@dataclass
class Supervised:
    outcomes: list[Outcome]
    stop_signal: int | None = None  # the signal that stopped the batch, if any
    killed: bool = False  # workers had to be killed (grace over, or a second signal)


class _Abort(Exception):
    """A second stop signal: kill the workers now."""


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this worker when the supervisor dies, however it dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the supervisor died before the line above took effect
        os._exit(1)


def _load(path: str) -> Callable[..., Any]:
    module, name = path.rsplit(":", 1)
    return getattr(__import__(module, fromlist=[name]), name)


def _worker(conn: Connection, parent: int, workers: Workers) -> None:
    """A worker: its own process group, SIGUSR1 = stop at the next page, tasks until told."""
    os.setpgrp()
    _die_with_parent(parent)
    from p88_pipeline.sync import cancel

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, lambda *_: cancel.request())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STARTUP_BLOCKED)
    workers.setup()
    runner: Runner = _load(workers.runner_path)
    sampler = _load(workers.sampler_path) if workers.sampler_path else lambda _slug: None
    lock = threading.Lock()

    def send(message: tuple[str, Any]) -> None:
        with lock:
            conn.send(message)

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        with sampling(sampler, task[0], send):
            result = runner(*task)
        send(("result", result))


@dataclass
class _Slot:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    busy: Outcome | None = None
    since: float = 0.0


def supervise(
    tasks: Sequence[Task],
    workers: Workers,
    *,
    reporting: Reporting = Reporting(),
    grace_s: float = 30.0,
) -> Supervised:
    """Run each task in up to `workers.parallel` workers; `reporting.on_progress(slug, value)`
    gets what the sampler reports while a task runs, `on_done` each task's outcome as it ends."""
    say, waiting, note_every_s = reporting.say, reporting.waiting, reporting.note_every_s
    outcomes = {slug: Outcome(slug) for slug, _, _ in tasks}
    pending = list(tasks)
    slots: list[_Slot] = []
    state = Supervised(list(outcomes.values()))
    deadline: float | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        if state.stop_signal is not None:
            raise _Abort
        state.stop_signal = signum

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    context = multiprocessing.get_context("spawn")
    try:
        for _ in range(min(max(1, workers.parallel), len(tasks))):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_worker,
                args=(theirs, os.getpid(), workers),
                daemon=True,
            )
            signal.pthread_sigmask(signal.SIG_BLOCK, STARTUP_BLOCKED)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                process.start()
            finally:
                signal.signal(signal.SIGINT, on_signal)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STARTUP_BLOCKED)
            theirs.close()
            slots.append(_Slot(process, ours))
        next_note = time.monotonic() + note_every_s
        while True:
            if state.stop_signal is not None and deadline is None:
                deadline = time.monotonic() + grace_s
                _announce_stop(state.stop_signal, slots, pending, grace_s, say)
                for slot in slots:
                    if slot.busy is not None and slot.process.pid:
                        os.kill(slot.process.pid, signal.SIGUSR1)
                for slug, _, _ in pending:
                    outcomes[slug].note = "not started (stop requested)"
                pending.clear()
            for slot in slots:
                if slot.busy is None and pending and slot.process.is_alive():
                    task = pending.pop(0)
                    slot.busy, slot.since = outcomes[task[0]], time.monotonic()
                    slot.busy.started = True
                    slot.conn.send(task)
            busy = [s for s in slots if s.busy is not None]
            if not busy and not pending:
                break
            if deadline is not None and time.monotonic() > deadline:
                for slot in busy:
                    assert slot.busy is not None
                    slot.busy.note = f"killed: not stopped within {grace_s:.0f} s"
                state.killed = True
                break
            for conn in wait([s.conn for s in busy], timeout=0.5):
                _collect(next(s for s in busy if s.conn is conn), reporting)
            if waiting and time.monotonic() > next_note and state.stop_signal is None:
                now = time.monotonic()
                running = [(s.busy.slug, now - s.since) for s in slots if s.busy is not None]
                for line in waiting(running):
                    say(line)
                next_note = now + note_every_s
    except _Abort:
        state.killed = True
        for slot in slots:
            if slot.busy is not None:
                slot.busy.note = "killed: second stop signal"
    finally:
        _shut_down(slots, kill=state.killed)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return state


def _collect(slot: _Slot, reporting: Reporting) -> None:
    """Read what the worker sent: progress (the task goes on) or its answer (the task ended)."""
    outcome = slot.busy
    assert outcome is not None
    try:
        while slot.busy is not None and slot.conn.poll():
            kind, value = slot.conn.recv()
            if kind == "progress":
                _notify(reporting.on_progress, outcome.slug, value)
                continue
            outcome.result = value
            slot.busy = None
    except (EOFError, OSError):
        slot.process.join(5)
        outcome.note = f"worker process died (exit code {slot.process.exitcode})"
        slot.busy = None
    if slot.busy is None:
        outcome.duration_s = time.monotonic() - slot.since
        _notify(reporting.on_done, outcome)


def _notify(callback: Callable[..., None] | None, *args: Any) -> None:
    """Showing progress never stops a sync (the database it reads may be what just failed)."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.info("progress display failed; the sync goes on", exc_info=True)


def _announce_stop(signum: int, slots: list[_Slot], pending: list, grace_s: float, say) -> None:
    running = [s.busy.slug for s in slots if s.busy is not None]
    say(
        f"p88: {signal.Signals(signum).name}: starting no more partners"
        + (f" ({len(pending)} not started)" if pending else "")
        + (
            f"; asking {', '.join(running)} to stop at the next page boundary "
            f"(up to {grace_s:.0f} s; again to abort now)"
            if running
            else ""
        )
    )


def _shut_down(slots: list[_Slot], *, kill: bool) -> None:
    """Every worker ends here: told to finish, or killed; none outlives the supervisor."""
    for slot in slots:
        if not kill and slot.busy is None:
            try:
                slot.conn.send(None)
            except OSError:
                pass
    deadline = time.monotonic() + (0 if kill else 10)
    for slot in slots:
        slot.process.join(max(0.0, deadline - time.monotonic()))
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join(5)
        slot.conn.close()
