"""The pure parts of the report: days to start on the race's clock, counts, start-list order."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pandas as pd

from p88_pipeline.reports.start_list import start_list, to_csv
from p88_pipeline.reports.stats import age_group_counts, days_to_start, event_figures


def test_days_to_start_counts_calendar_days_in_the_races_zone() -> None:
    # 09:00 UTC on the 1st is still the 31st, 23:00 in Honolulu: a race on the 1st at 07:00
    # local is 1 day away there, although UTC already says "today".
    now = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    race = datetime(2027, 1, 1, 17, 0, tzinfo=UTC)  # 07:00 Honolulu
    assert days_to_start(race, "Pacific/Honolulu", now) == 1
    assert days_to_start(race, "UTC", now) == 0
    assert days_to_start(None, "UTC", now) is None


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "participant_id": "1",
        "first_name": "A",
        "last_name": "B",
        "gender": "F",
        "age": None,
        "dob": None,
        "bib": None,
        "team": None,
        "registered_at": pd.Timestamp("2026-01-01", tz="UTC"),
        "modified_at": pd.Timestamp("2026-01-01", tz="UTC"),
        "removed_at": pd.NaT,
    }
    out = pd.DataFrame([{**base, **r} for r in rows])
    out["age"] = out["age"].astype("Int64")
    for col in ("registered_at", "modified_at", "removed_at"):
        out[col] = pd.to_datetime(out[col], utc=True, format="mixed")
    return out


def test_figures_count_active_registrations_only() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    regs = frame(
        [
            {"participant_id": "1", "bib": " ", "gender": "female", "age": 19},
            {
                "participant_id": "2",
                "bib": "7",
                "gender": "M",
                "age": 20,
                "registered_at": "2026-01-09 12:00Z",
                "modified_at": "2026-01-09 12:00Z",
            },
            {
                "participant_id": "3",
                "bib": None,
                "gender": "x",
                "age": 60,
                "modified_at": "2026-01-09 23:00Z",
            },
            {
                "participant_id": "4",
                "bib": None,
                "gender": None,
                "removed_at": "2026-01-09 13:00Z",
                "modified_at": "2026-01-09 13:00Z",
            },
            {"participant_id": "5", "bib": "8", "gender": "?", "removed_at": "2026-01-01"},
        ]
    )
    f = event_figures(regs, now)
    assert (f.active, f.new_24h, f.modified_24h, f.removed_24h, f.without_bib) == (3, 1, 1, 1, 2)
    assert (f.gender_f, f.gender_m, f.gender_x, f.gender_unknown) == (1, 1, 1, 0)
    assert f.age_groups == {
        "under 20": 1,
        "20-29": 1,
        "30-39": 0,
        "40-49": 0,
        "50-59": 0,
        "60+": 1,
        "unknown": 0,
    }
    assert age_group_counts(pd.Series([None, 5], dtype="Int64"))["unknown"] == 1


def test_start_list_order_and_csv_round_trip() -> None:
    regs = frame(
        [
            {"participant_id": "10", "bib": "A12", "last_name": "z"},
            {"participant_id": "11", "bib": "10", "last_name": "Tab\there"},
            {"participant_id": "12", "bib": "007", "first_name": 'Say "hi"', "age": 34},
            {"participant_id": "13", "bib": "7", "last_name": "Línea\nnueva, dos"},
            {"participant_id": "14", "bib": None, "last_name": "a", "dob": date(1990, 2, 3)},
            {"participant_id": "9", "bib": "a12", "last_name": "a"},
            {"participant_id": "15", "bib": "8", "removed_at": "2026-01-01"},
        ]
    )
    listed = start_list(regs, "runsignup")
    assert listed["registration_id"].tolist() == ["12", "13", "11", "9", "10", "14"]
    rows = list(csv.DictReader(io.StringIO(to_csv(listed).decode("utf-8"), newline="")))
    assert [r["bib"] for r in rows] == ["007", "7", "10", "a12", "A12", ""]
    assert rows[0]["first_name"] == 'Say "hi"' and rows[0]["age"] == "34"
    assert rows[1]["last_name"] == "Línea\nnueva, dos" and rows[2]["last_name"] == "Tab\there"
    assert rows[5]["dob"] == "1990-02-03" and rows[5]["age"] == ""
    assert {r["provider"] for r in rows} == {"runsignup"}
