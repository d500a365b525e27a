"""The race-week checks on purpose-built data: duplicate and missing bibs fail (naming partner,
event and count, the sync itself still succeeding), clean data passes, and a registration changed
after its race started warns."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from p88_pipeline_tests.reports import truth
from p88_pipeline_tests.reports.conftest import Runner, check_results, materialization

HORIZON = timedelta(hours=72)


def clean_bibs(world, slug: str) -> None:
    """Every active registration of the partner's future events gets its own bib."""
    now = world.clock.now()
    for provider, event in truth.future_events(world, slug, now):
        for n, pid in enumerate(world.active_ids(event), start=1):
            world.modify_participant(provider, event.event_id, pid, bib=n)


def test_bib_checks_fail_on_duplicate_and_missing_bibs_and_pass_on_clean_data(
    runner: Runner,
) -> None:
    world = runner.sandbox.world
    now = world.clock.now()
    soonest = min(
        (e for p, e in truth.future_events(world, "alpha", now) if p == "runsignup"),
        key=lambda e: e.start,
    )
    world.clock.advance(soonest.start - timedelta(hours=48) - now)  # race week for `soonest`
    first, second, third, fourth = world.active_ids(soonest)[:4]
    world.modify_participant("runsignup", soonest.event_id, first, bib=77)
    world.modify_participant("runsignup", soonest.event_id, second, bib=" 77")  # int vs text
    world.modify_participant("runsignup", soonest.event_id, third, bib=None)
    world.modify_participant("runsignup", soonest.event_id, fourth, bib="")
    now = world.clock.now()
    duplicates = truth.duplicate_bibs(world, "runsignup", "alpha", now)
    missing = truth.missing_bibs(world, "runsignup", "alpha", now, HORIZON)
    event_id = str(soonest.event_id)
    assert duplicates[event_id] >= 1 and missing[event_id] >= 2

    dirty = runner.run("alpha")
    assert dirty.success  # ERROR, not blocking: the reports still ran
    assert materialization(dirty, "reports", "event_registrations")["events"] > 0
    checks = check_results(dirty)

    unique = checks[("runsignup", "unique_bibs")]
    assert not unique.passed and unique.severity == dg.AssetCheckSeverity.ERROR
    meta = {k: v.value for k, v in unique.metadata.items()}
    assert meta["partner"] == "alpha"
    assert meta["duplicate_bibs"] == sum(duplicates.values())
    assert meta["events"] == len(duplicates)
    assert {s["bib"] for s in meta["sample"] if s["event_id"] == event_id} >= {"77"}
    pair = next(s for s in meta["sample"] if s["event_id"] == event_id and s["bib"] == "77")
    assert pair["registration_ids"] == sorted([str(first), str(second)]) and pair["count"] == 2
    assert unique.description.startswith("alpha: ") and f"{event_id} (" in unique.description

    bibs = checks[("runsignup", "bibs_before_start")]
    assert not bibs.passed and bibs.severity == dg.AssetCheckSeverity.WARN
    meta = {k: v.value for k, v in bibs.metadata.items()}
    assert meta["registrations_without_a_bib"] == sum(missing.values())
    assert meta["per_event"] == {
        f"{eid} ({world.event_state('runsignup', eid).name})": n for eid, n in missing.items()
    }
    assert {str(third), str(fourth)} <= set(meta["sample"][0]["registration_ids"])

    world.remove_participant("runsignup", soonest.event_id, third)  # gone: its missing bib too
    clean_bibs(world, "alpha")
    clean = runner.run("alpha")
    assert clean.success
    for provider in ("runsignup", "haku"):
        for name in ("unique_bibs", "bibs_before_start", "unchanged_after_start"):
            result = check_results(clean)[(provider, name)]
            assert result.passed, (provider, name, result.description)

    world.clock.advance(timedelta(hours=50))  # the race started two hours ago
    late = world.active_ids(soonest)[5]
    world.modify_participant("runsignup", soonest.event_id, late, last_name="Latecomer")
    after = runner.run("alpha")
    changed = check_results(after)[("runsignup", "unchanged_after_start")]
    assert not changed.passed and changed.severity == dg.AssetCheckSeverity.WARN
    meta = {k: v.value for k, v in changed.metadata.items()}
    assert meta["per_event"] == {f"{event_id} ({soonest.name})": 1}
    assert meta["sample"][0]["registration_ids"] == [str(late)]
