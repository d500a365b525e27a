"""Race week through the `sync` job: the report's every figure and every start-list row equal the
sandbox's truth, after a first load and after a day of changes, odd values included."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC
from pathlib import Path

import sqlalchemy as sa

from p88_pipeline.reports.export import file_name
from p88_pipeline.warehouse.race_week import stored_event_stats
from p88_pipeline_tests.reports import truth
from p88_pipeline_tests.reports.conftest import Runner, materialization

ODD_RUNSIGNUP = (
    {"first_name": "Tab\tInside", "last_name": 'O"Quote, Comma', "bib": "007"},
    {"first_name": "Zoë", "last_name": "田中 太郎", "bib": 42},
    {"first_name": "Line\nBreak", "last_name": "Back\\slash", "bib": None, "team_name": "A,B"},
    {"first_name": "Semi;colon", "last_name": "'Single'", "bib": "A12", "gender": "X"},
    {"first_name": "😀\u200d🏃", "last_name": "Ñúñez-O'Brien", "bib": "7"},
)
ODD_HAKU = (
    {"first_name": "Chloé", "last_name": 'D\'Angelo "Q", Jr.', "bib": "0042"},
    {"first_name": "Björn", "last_name": "Østergaard", "bib": None},
    {"first_name": '"Quoted"', "last_name": "Şahin", "bib": 42},
)


def plant_odd_values(world, slug: str) -> None:
    """Odd names, quotes, tabs, unicode, missing bibs and int/str bibs, written into the world
    (real modifications) in the partner's first future event of each provider."""
    now = world.clock.now()
    for provider, odd in (("runsignup", ODD_RUNSIGNUP), ("haku", ODD_HAKU)):
        event = next(e for p, e in truth.future_events(world, slug, now) if p == provider)
        for pid, fields in zip(world.active_ids(event), odd, strict=False):
            world.modify_participant(provider, event.event_id, pid, **fields)


def assert_report_equals_truth(engine: sa.Engine, world, partner_id: str, slug: str, now) -> int:
    day = now.astimezone(UTC).date()
    stored = stored_event_stats(engine, partner_id)
    stored = stored[stored["report_date"] == day].set_index(["provider", "event_id"])
    expected = truth.future_events(world, slug, now)
    assert len(stored) == len(expected) > 0
    for provider, event in expected:
        row = stored.loc[(provider, str(event.event_id))]
        want = truth.event_figures(world, provider, event, now)
        got = {k: row[k] for k in want}
        got = {
            k: (int(v) if isinstance(v, int | float) and k != "age_groups" else v)
            for k, v in got.items()
        }
        assert got == want, (provider, event.event_id)
    return int(stored["active"].sum())


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def assert_start_lists_equal_truth(directory: Path, world, slug: str, now) -> dict:
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for provider, event in truth.future_events(world, slug, now):
        path = directory / file_name(provider, str(event.event_id))
        rows = read_csv(path)
        assert rows == truth.start_list(world, provider, event), (provider, event.event_id)
        entry = manifest["events"][f"{provider}/{event.event_id}"]
        assert entry["rows"] == len(rows)
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    return manifest


def test_report_and_start_lists_equal_the_truth(runner: Runner, engine: sa.Engine) -> None:
    world = runner.sandbox.world
    partner = runner.sandbox.partner("alpha")
    plant_odd_values(world, "alpha")

    first = runner.run("alpha")
    assert first.success
    now = world.clock.now()
    active = assert_report_equals_truth(engine, world, partner.id, "alpha", now)
    meta = materialization(first, "reports", "event_registrations")
    assert meta["active"] == active and meta["events"] == len(
        truth.future_events(world, "alpha", now)
    )
    assert_start_lists_equal_truth(runner.exports / "alpha", world, "alpha", now)

    world.advance()  # a night of new, modified, removed and transferred registrations
    second = runner.run("alpha")
    assert second.success
    now = world.clock.now()
    assert_report_equals_truth(engine, world, partner.id, "alpha", now)
    meta = materialization(second, "reports", "event_registrations")
    figures = [
        truth.event_figures(world, p, e, now) for p, e in truth.future_events(world, "alpha", now)
    ]
    for name in ("active", "new_24h", "modified_24h", "removed_24h", "without_bib"):
        assert meta[name] == sum(f[name] for f in figures), name
    assert meta["new_24h"] > 0 and meta["removed_24h"] > 0 and meta["modified_24h"] > 0
    table = meta["events_table"]
    assert len(table.records) == len(figures)
    assert {c.name for c in table.schema.columns} >= {"event_id", "active", "without_bib"}
    assert_start_lists_equal_truth(runner.exports / "alpha", world, "alpha", now)


def test_start_lists_are_rewritten_only_for_changed_events(runner: Runner) -> None:
    world = runner.sandbox.world
    assert runner.run("alpha").success
    directory = runner.exports / "alpha"
    stamps = {p.name: p.stat().st_mtime_ns for p in directory.glob("*.csv")}
    assert stamps

    again = runner.run("alpha")
    meta = materialization(again, "reports", "start_lists")
    assert meta["files_written"] == 0 and meta["files_unchanged"] == len(stamps)
    assert {p.name: p.stat().st_mtime_ns for p in directory.glob("*.csv")} == stamps

    now = world.clock.now()
    provider, event = truth.future_events(world, "alpha", now)[-1]
    world.modify_participant(provider, event.event_id, world.active_ids(event)[0], last_name="Zed")
    changed = runner.run("alpha")
    meta = materialization(changed, "reports", "start_lists")
    assert meta["files_written"] == 1 and meta["files_unchanged"] == len(stamps) - 1
    name = file_name(provider, str(event.event_id))
    assert meta["written"] == name
    assert read_csv(directory / name) == truth.start_list(world, provider, event)
    assert not list(directory.glob(".*.tmp"))  # no temporary file left behind


def test_report_keeps_one_row_per_event_and_day(runner: Runner, engine: sa.Engine) -> None:
    """A second run the same day replaces that day's rows; the next day adds new ones."""
    world = runner.sandbox.world
    partner = runner.sandbox.partner("bravo")
    assert runner.run("bravo").success and runner.run("bravo").success
    stored = stored_event_stats(engine, partner.id)
    events = len(truth.future_events(world, "bravo", world.clock.now()))
    assert len(stored) == events
    world.advance()
    assert runner.run("bravo").success
    stored = stored_event_stats(engine, partner.id)
    assert stored.groupby("report_date").size().tolist() == [events, events]
