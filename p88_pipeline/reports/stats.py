"""One event's race-week figures from its registrations (a pandas frame). Pure: no I/O.

The frame is warehouse.race_week.event_registrations: gender, age, bib and the registration,
modification and removal times as epoch seconds (NaN: none), removed rows included.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from p88_pipeline.providers.timeparse import zone

DAY = timedelta(days=1)
UTC_ZONE = ZoneInfo("UTC")
# (label, lowest age, first age of the next group); None: open-ended.
AGE_GROUPS: tuple[tuple[str, int | None, int | None], ...] = (
    ("under 20", None, 20),
    ("20-29", 20, 30),
    ("30-39", 30, 40),
    ("40-49", 40, 50),
    ("50-59", 50, 60),
    ("60+", 60, None),
)
UNKNOWN_AGE = "unknown"
GENDERS = {
    "F": "f",
    "FEMALE": "f",
    "W": "f",
    "M": "m",
    "MALE": "m",
    "X": "x",
    "NB": "x",
    "NON-BINARY": "x",
    "NONBINARY": "x",
}


@dataclass(frozen=True)
class EventFigures:
    """What the report says about one event on one day."""

    active: int
    new_24h: int
    modified_24h: int
    removed_24h: int
    without_bib: int
    gender_f: int
    gender_m: int
    gender_x: int
    gender_unknown: int
    age_groups: dict[str, int] = field(default_factory=dict)

    def as_row(self) -> dict:
        return asdict(self)


def days_to_start(start: datetime | None, timezone: str, now: datetime) -> int | None:
    """Calendar days from today to race day, both on the race's own clock (a 7 am race
    tomorrow is 1 day away however many hours that is). An unknown zone name counts in UTC,
    as the sync's parsers do, rather than losing the partner's report."""
    if start is None or pd.isna(start):
        return None
    tz = zone(timezone, UTC_ZONE)
    race_day: date = start.astimezone(tz).date()
    return (race_day - now.astimezone(tz).date()).days


def has_bib(bib: object) -> bool:
    """A bib is text with something in it: NULL, NaN and blanks are no bib."""
    return isinstance(bib, str) and bib.strip() != ""


def gender_counts(genders: pd.Series) -> dict[str, int]:
    """Counted per distinct spelling (a handful), then normalised: F/female, M/male, X/NB."""
    known = {"f": 0, "m": 0, "x": 0}
    for value, n in genders.value_counts().items():
        if (code := GENDERS.get(str(value).strip().upper())) is not None:
            known[code] += int(n)
    return {**known, "unknown": len(genders) - sum(known.values())}


def age_group_counts(ages: pd.Series) -> dict[str, int]:
    ages = ages.astype("Int64")
    out: dict[str, int] = {}
    for label, low, high in AGE_GROUPS:
        inside = ages.notna()
        if low is not None:
            inside &= ages >= low
        if high is not None:
            inside &= ages < high
        out[label] = int(inside.fillna(False).sum())
    out[UNKNOWN_AGE] = int(ages.isna().sum())
    return out


def event_figures(regs: pd.DataFrame, now: datetime) -> EventFigures:
    """New = registered in the last 24 h; modified = changed in the last 24 h but registered
    before; removed = removed in the last 24 h. Every other figure counts active registrations."""
    since = (now - DAY).timestamp()
    active = regs[regs["removed_s"].isna()]
    new = active["registered_s"] >= since  # NaN (unknown) compares False
    modified = (active["modified_s"] >= since) & ~new
    genders = gender_counts(active["gender"])
    return EventFigures(
        active=len(active),
        new_24h=int(new.sum()),
        modified_24h=int(modified.sum()),
        removed_24h=int((regs["removed_s"] >= since).sum()),
        without_bib=len(active) - sum(map(has_bib, active["bib"])),
        gender_f=genders["f"],
        gender_m=genders["m"],
        gender_x=genders["x"],
        gender_unknown=genders["unknown"],
        age_groups=age_group_counts(active["age"]),
    )
