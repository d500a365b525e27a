"""Date and time parsing for provider payloads: every result is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EASTERN = ZoneInfo("America/New_York")
D = TypeVar("D", ZoneInfo, None)

_LOCAL_FORMATS = (
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M%p",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y",
    "%Y-%m-%d",
)


def zone(name: Any, default: D) -> ZoneInfo | D:
    """The named IANA zone, or `default` when the name is missing or unknown."""
    if not name or not isinstance(name, str):
        return default
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return default


def iso_utc(moment: datetime) -> str:
    """Whole seconds, rounded down: an inclusive filter must not skip the boundary second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_local(value: str | None, tz: ZoneInfo) -> datetime | None:
    """A provider wall-clock string in zone `tz` -> aware UTC. ISO strings with offsets win."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in _LOCAL_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            raise ValueError(f"unrecognised date/time {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def from_unix(value: int | str | float) -> datetime:
    return datetime.fromtimestamp(int(float(value)), tz=UTC)


def to_unix(value: datetime) -> int:
    """Whole seconds, rounded down: an inclusive 'on or after' filter must not skip the boundary."""
    return int(value.timestamp() // 1)


def parse_date(value: str | None) -> date | None:
    """A date of birth and similar: ISO or US style; impossible dates raise ValueError."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"impossible or unrecognised date {text!r}")
