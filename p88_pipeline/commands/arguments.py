"""Argument types and help texts the `p88` commands share, the sandbox's commands included."""

from __future__ import annotations

import argparse
from datetime import datetime

KEEP_DB_HELP = "leave the embedded PostgreSQL running if this command started it"
AS_OF_HELP = "ISO instant used as 'now' (sandbox time travel)"


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (0 or less would silently change what a sync does)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def iso_instant(text: str) -> str:
    """argparse type: an ISO 8601 instant (`--as-of`), checked before anything runs."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO instant (e.g. 2026-06-01T08:00:00+00:00)"
        ) from None
    return text
