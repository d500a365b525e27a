"""The pure parts of the report: days to start on the race's clock, counts, start-list order."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from p88_pipeline.reports.export import read_manifest
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


def epoch(text: str | None) -> float:
    return float("nan") if text is None else datetime.fromisoformat(text).timestamp()


def registrations(rows: list[dict]) -> pd.DataFrame:
    """As warehouse.race_week.event_registrations reads them: times as epoch seconds."""
    out = pd.DataFrame(
        [
            {
                "gender": r.get("gender", "F"),
                "age": r.get("age"),
                "bib": r.get("bib"),
                "registered_s": epoch(r.get("registered_at", "2026-01-01T00:00+00:00")),
                "modified_s": epoch(r.get("modified_at", "2026-01-01T00:00+00:00")),
                "removed_s": epoch(r.get("removed_at")),
            }
            for r in rows
        ]
    )
    out["age"] = out["age"].astype("Int64")
    return out


def test_figures_count_active_registrations_only() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    day = "2026-01-09T{}+00:00"
    regs = registrations(
        [
            {"bib": " ", "gender": "female", "age": 19},
            {
                "bib": "7",
                "gender": "M",
                "age": 20,
                "registered_at": day.format("12:00"),
                "modified_at": day.format("12:00"),
            },
            {"bib": None, "gender": "x", "age": 60, "modified_at": day.format("23:00")},
            {"gender": None, "removed_at": day.format("13:00"), "modified_at": day.format("13:00")},
            {"bib": "8", "gender": "?", "removed_at": "2026-01-01T00:00+00:00"},
            {"bib": "9", "gender": " f ", "registered_at": None},
        ]
    )
    f = event_figures(regs, now)
    assert (f.active, f.new_24h, f.modified_24h, f.removed_24h, f.without_bib) == (4, 1, 1, 1, 2)
    assert (f.gender_f, f.gender_m, f.gender_x, f.gender_unknown) == (2, 1, 1, 0)
    assert f.age_groups == {
        "under 20": 1,
        "20-29": 1,
        "30-39": 0,
        "40-49": 0,
        "50-59": 0,
        "60+": 1,
        "unknown": 1,
    }
    assert age_group_counts(pd.Series([None, 5], dtype="Int64"))["unknown"] == 1


def test_start_list_order_and_csv_round_trip() -> None:
    base = {"first_name": "A", "last_name": "B", "gender": "F", "age": None, "dob": None}
    regs = pd.DataFrame(
        [
            {**base, "participant_id": "10", "bib": "A12", "last_name": "z"},
            {**base, "participant_id": "11", "bib": "10", "last_name": "Tab\there"},
            {**base, "participant_id": "12", "bib": "007", "first_name": 'Say "hi"', "age": 34},
            {**base, "participant_id": "13", "bib": "7", "last_name": "Línea\nnueva, dos"},
            {**base, "participant_id": "14", "bib": None, "last_name": "a", "dob": "1990-02-03"},
            {**base, "participant_id": "9", "bib": "a12", "last_name": "a"},
            {**base, "participant_id": "100", "bib": " 7 ", "last_name": "B"},
        ]
    ).assign(team=None)
    regs["age"] = regs["age"].astype("Int64")
    listed = start_list(regs, "runsignup")
    assert listed["registration_id"].tolist() == ["12", "100", "13", "11", "9", "10", "14"]
    rows = list(csv.DictReader(io.StringIO(to_csv(listed).decode("utf-8"), newline="")))
    assert [r["bib"] for r in rows] == ["007", "7", "7", "10", "a12", "A12", ""]
    assert rows[0]["first_name"] == 'Say "hi"' and rows[0]["age"] == "34"
    assert rows[2]["last_name"] == "Línea\nnueva, dos" and rows[3]["last_name"] == "Tab\there"
    assert rows[6]["dob"] == "1990-02-03" and rows[6]["age"] == ""
    assert {r["provider"] for r in rows} == {"runsignup"}


def test_an_unknown_zone_counts_days_in_utc() -> None:
    now = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    race = datetime(2027, 1, 3, 1, 0, tzinfo=UTC)
    assert days_to_start(race, "Mars/Olympus_Mons", now) == 2


def test_a_damaged_manifest_is_refused_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"manifest\.json is not a start-list manifest"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"events": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="no 'events' object"):
        read_manifest(tmp_path)
