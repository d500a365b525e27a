"""One event's start list for timing software: active registrations, sorted, as UTF-8 CSV.
Pure: a frame in (warehouse.race_week.start_list_rows), bytes out.

Sorted by bib then name: numeric bibs by value ("7" before "10", "007" next to "7"), then other
bibs alphabetically ("A12"), then registrations without a bib; ties by last name, first name and
registration id, case-insensitively. A tab, quote, comma or line break in a name survives: the
csv module quotes what needs it.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = (
    "bib",
    "first_name",
    "last_name",
    "gender",
    "age",
    "dob",
    "team",
    "registration_id",
    "provider",
)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def bib_key(bib: object) -> tuple[int, int, str]:
    """(kind, number, text): numeric bibs first by value, then other bibs, then none."""
    text = _text(bib).strip()
    if not text:
        return (2, 0, "")
    if text.isascii() and text.isdigit():
        return (0, int(text), text)
    return (1, 0, text.casefold())


def sort_key(bib: object, last: object, first: object, registration: object) -> tuple:
    reg = _text(registration)
    return (bib_key(bib), _text(last).casefold(), _text(first).casefold(), len(reg), reg)


def start_list(regs: pd.DataFrame, provider: str) -> pd.DataFrame:
    """The event's active registrations in start-list columns and order. The order is computed
    per row in Python: a few hundred rows per event, where pandas' per-column string kernels
    cost more than they save."""
    keys = list(
        map(sort_key, regs["bib"], regs["last_name"], regs["first_name"], regs["participant_id"])
    )
    rows = regs.iloc[sorted(range(len(keys)), key=keys.__getitem__)]
    return pd.DataFrame(
        {
            "bib": rows["bib"].map(lambda b: _text(b).strip()),
            "first_name": rows["first_name"],
            "last_name": rows["last_name"],
            "gender": rows["gender"],
            "age": rows["age"].astype("Int64"),
            "dob": rows["dob"],
            "team": rows["team"],
            "registration_id": rows["participant_id"],
            "provider": provider,
        },
        columns=list(COLUMNS),
    )


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8, a header row, "\\n" line ends; empty cells for what is unknown."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
