"""When a partner's failure is worth a message: one per failure streak, a reminder while the
streak lasts, and a "recovered" message when it ends. Pure, so a five-hour streak is a plain loop.

A streak is the time between a partner's first failed run and its next successful run. Every
failed run is recorded; only the first of a streak and the reminders are posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class AlertKind(StrEnum):
    FAILURE = "failure"  # the first failure of a streak: posted
    REMINDER = "reminder"  # still failing and the reminder interval has passed: posted
    REPEAT = "repeat"  # still failing: recorded, not posted
    RECOVERED = "recovered"  # the first success after a streak: posted


POSTED = frozenset({AlertKind.FAILURE, AlertKind.REMINDER, AlertKind.RECOVERED})


@dataclass(frozen=True)
class LastAlert:
    """A partner's latest posted alert (repeats are not posted, so never the latest here)."""

    kind: AlertKind
    at: datetime
    streak_started_at: datetime


def streak_open(last: LastAlert | None) -> bool:
    return last is not None and last.kind != AlertKind.RECOVERED


def on_failure(last: LastAlert | None, now: datetime, remind_every: timedelta) -> AlertKind:
    """A failed run: open a streak, remind, or stay quiet."""
    if not streak_open(last):
        return AlertKind.FAILURE
    assert last is not None
    return AlertKind.REMINDER if now - last.at >= remind_every else AlertKind.REPEAT


def on_success(last: LastAlert | None) -> AlertKind | None:
    """A successful run: close an open streak; nothing to say otherwise."""
    return AlertKind.RECOVERED if streak_open(last) else None


def streak_start(kind: AlertKind, last: LastAlert | None, now: datetime) -> datetime:
    return now if kind == AlertKind.FAILURE or last is None else last.streak_started_at


def cut_at_word(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut between words and marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:") + "…"


def duration_label(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
