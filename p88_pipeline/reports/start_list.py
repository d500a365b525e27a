"""One event's start list for timing software: active registrations, sorted, as UTF-8 CSV.
Pure: a frame in, bytes out.

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


def _folded(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.casefold()


def sort_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The ordering columns of a start list: (bib kind, bib number, bib text, names, id)."""
    bib = frame["bib"].astype("string").str.strip()
    numeric = bib.str.fullmatch(r"[0-9]{1,18}").fillna(False).astype(bool)
    kind = pd.Series(2, index=frame.index)  # no bib: last
    kind[bib.fillna("") != ""] = 1
    kind[numeric] = 0
    number = pd.to_numeric(bib.where(numeric), errors="coerce").fillna(0).astype("int64")
    return pd.DataFrame(
        {
            "kind": kind,
            "number": number,
            "bib": _folded(bib),
            "last": _folded(frame["last_name"]),
            "first": _folded(frame["first_name"]),
            "id_len": frame["participant_id"].astype("string").str.len(),
            "id": frame["participant_id"].astype("string"),
        },
        index=frame.index,
    )


def start_list(regs: pd.DataFrame, provider: str) -> pd.DataFrame:
    """The event's active registrations in start-list columns and order."""
    active = regs[regs["removed_at"].isna()]
    keys = sort_keys(active)
    order = keys.sort_values(list(keys.columns), kind="stable").index
    rows = active.loc[order]
    return pd.DataFrame(
        {
            "bib": rows["bib"].astype("string").str.strip(),
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
