"""Live progress for long commands: one row per key (a partner and provider, a check, ...),
redrawn in place on a terminal, plain lines at a steady cadence anywhere else.

    with Progress("p88 doctor", unit="checks") as progress:
        progress.update("alpha runsignup", done=1, total=3, text="credentials ok")
        progress.note("p88 doctor: something worth a line of its own")
        progress.finish("alpha runsignup", "success", text="3 checks passed")

`update` and `finish` may be called from any thread. On a terminal (the stream is a TTY and TERM
is not dumb) the rows are a rich progress display, cleared when the block ends so the command's
own result follows; `note` prints above it. Otherwise (cron, CI, a pipe): every `every_s`
seconds, if anything moved, one line with every running row, and one line per row as it
finishes, with no control characters at all (FORCE_COLOR and the like cannot turn a pipe into a
terminal here). Rows set to WAITING show on a terminal but stay out of the plain lines.

Why rich: it is already installed with Dagster (pinned in pyproject.toml), maintained, redraws
several rows in place from any thread with a background refresh, and gives elapsed-time and bar
columns for free; curses would need a full-screen takeover and tqdm draws one bar per stream
position, which breaks as rows start and end out of order.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
WAITING = "waiting"


def interactive(stream: TextIO) -> bool:
    """Redraw in place only on a real terminal that understands it."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") not in ("dumb", "unknown")


def plain_text(text: str) -> str:
    """No control character reaches a log file (tabs and newlines become spaces)."""
    return CONTROL.sub(" ", text)


@dataclass
class _Row:
    done: int | None = None
    total: int | None = None
    text: str = ""
    status: str = "running"
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    shown: tuple | None = None  # what the last heartbeat line said of it

    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started


class Progress:
    def __init__(
        self,
        title: str,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        live: bool | None = None,
        every_s: float = 10.0,
    ) -> None:
        self.title, self.unit, self.every_s = title, unit, every_s
        self.stream = stream or sys.stderr
        self.live = interactive(self.stream) if live is None else live
        self._rows: dict[str, _Row] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._rich: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Progress:
        if self.live:
            console = Console(file=self.stream, force_terminal=True, force_interactive=True)
            self._rich = RichProgress(
                TextColumn("{task.description}", markup=False),  # "[run 1]" is text here
                TextColumn("{task.fields[status]}", markup=False),
                BarColumn(bar_width=16),
                MofNCompleteColumn(),
                TextColumn(self.unit, markup=False),
                TextColumn("{task.fields[text]}", markup=False),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                refresh_per_second=4,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._rich.start()
        else:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._rich is not None:
            self._rich.stop()

    def update(
        self,
        key: str,
        *,
        done: int | None = None,
        total: int | None = None,
        text: str = "",
        status: str | None = None,
    ) -> None:
        with self._lock:
            row = self._rows.setdefault(key, _Row())
            if row.ended is not None:
                return
            if row.status == WAITING and status not in (None, WAITING):
                row.started = time.monotonic()  # elapsed counts from the real start
            row.status = status or row.status
            row.done = row.done if done is None else done
            row.total = row.total if total is None else total
            row.text = text or row.text
            self._draw(key, row)

    def finish(self, key: str, status: str = "done", *, text: str | None = None) -> None:
        with self._lock:
            row = self._rows.setdefault(key, _Row())
            if row.ended is not None:
                return
            row.status, row.ended = status, time.monotonic()
            row.text = row.text if text is None else text
            self._draw(key, row)
            if not self.live:
                self._print(key, row)

    def note(self, line: str) -> None:
        """A line of its own (a stop request, a wait), above the live rows."""
        with self._lock:
            if self._rich is not None:
                self._rich.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                self._write(plain_text(line))

    def _draw(self, key: str, row: _Row) -> None:
        if self._rich is None:
            return
        fields = {"status": row.status, "text": row.text}
        if key not in self._tasks:
            self._tasks[key] = self._rich.add_task(key, start=False, total=row.total, **fields)
        task = self._tasks[key]
        if row.status != WAITING:
            self._rich.start_task(task)
        self._rich.update(task, completed=row.done or 0, total=row.total, **fields)
        if row.ended is not None:
            self._rich.stop_task(task)

    def _state(self, row: _Row) -> str:
        parts = [row.status]
        if row.total is not None:
            parts.append(f"{row.done or 0}/{row.total} {self.unit}".strip())
        if row.text:
            parts.append(row.text)
        return ", ".join(parts)

    def line(self, key: str, row: _Row) -> str:
        """A finished row's plain line: `title: key: status, 3/4 unit, text, 12s`."""
        return plain_text(f"{self.title}: {key}: {self._state(row)}, {row.elapsed():.0f}s")

    def _print(self, key: str, row: _Row) -> None:
        self._write(self.line(key, row))

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _tick(self) -> None:
        """Plain mode: every `every_s`, if a running row changed, one line for all running rows
        (rows still `waiting` have nothing to say yet): a heartbeat whose length in lines does
        not grow with the number of rows."""
        started = time.monotonic()
        while not self._stop.wait(self.every_s):
            with self._lock:
                running = {
                    k: r for k, r in self._rows.items() if r.ended is None and r.status != WAITING
                }
                states = {k: (r.status, r.done, r.total, r.text) for k, r in running.items()}
                if all(r.shown == states[k] for k, r in running.items()):
                    continue
                for key, row in running.items():
                    row.shown = states[key]
                ended = sum(r.ended is not None for r in self._rows.values())
                rows = "; ".join(f"{k} {self._state(r)}" for k, r in running.items())
                head = f"{self.title}: {time.monotonic() - started:.0f}s"
                self._write(plain_text(f"{head}, {ended} of {len(self._rows)} done; {rows}"))
