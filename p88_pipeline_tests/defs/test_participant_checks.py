"""Asset checks on runsignup/participants: pass on clean data, fail on injected bad rows, and look
only at the run's partner in a partitioned run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from p88_pipeline.defs.checks import build_participant_checks
from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline_tests.defs.conftest import add_event

NOW = datetime.now(UTC)
NEXT_MONTH = NOW + timedelta(days=30)
CHECKS = build_participant_checks("runsignup")


@dg.asset(key=["runsignup", "participants"], partitions_def=timing_partner_partitions)
def participants_stub() -> None:
    """Stands in for the real asset: the checks read the warehouse, not the asset's output."""


def run_checks(
    instance: dg.DagsterInstance, resources: dict[str, Any], partner: str = "acme"
) -> dict[str, dg.AssetCheckEvaluation]:
    instance.add_dynamic_partitions("timing_partner", ["acme", "bolt"])
    result = dg.materialize(
        [participants_stub, *CHECKS],
        partition_key=partner,
        instance=instance,
        resources=resources,
        raise_on_error=False,
    )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def add_participant(engine: sa.Engine, partner_id: str, event_id: str, pid: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO participants (provider, timing_partner_id, event_id, participant_id, "
                "modified_at, raw) VALUES ('runsignup', :partner, :event, :pid, now(), '{}')"
            ),
            {"partner": partner_id, "event": event_id, "pid": pid},
        )


@pytest.fixture
def clean(engine: sa.Engine) -> sa.Engine:
    """acme and bolt synced a minute ago, two registrations each."""
    for partner, event in (("101", "a1"), ("102", "b1")):
        add_event(engine, partner, event, NEXT_MONTH, watermark=NOW - timedelta(minutes=1))
        add_participant(engine, partner, event, "p1")
        add_participant(engine, partner, event, "p2")
    return engine


def test_all_checks_pass_on_clean_data(instance, resources, clean) -> None:
    results = run_checks(instance, resources)

    assert {name: e.passed for name, e in results.items()} == {
        "unique_participant_keys": True,
        "events_exist": True,
        "future_events_fresh": True,
    }
    assert results["events_exist"].metadata["partner"].value == "acme"


def test_duplicate_keys_fail_the_blocking_uniqueness_check(instance, resources, clean) -> None:
    with clean.begin() as conn:  # only possible once someone dropped the constraint
        conn.execute(sa.text("ALTER TABLE participants DROP CONSTRAINT participants_key"))
    add_participant(clean, "101", "a1", "p1")

    check = run_checks(instance, resources)["unique_participant_keys"]

    assert not check.passed
    assert check.blocking
    assert check.metadata["duplicate_keys"].value == 1
    assert check.metadata["unique_constraint_present"].value is False


def test_participant_of_an_unknown_event_fails_referential_check(
    instance, resources, clean
) -> None:
    add_participant(clean, "101", "ghost-event", "p9")

    check = run_checks(instance, resources)["events_exist"]

    assert not check.passed
    assert check.metadata["orphan_participants"].value == 1


def test_watermark_older_than_twice_the_longest_target_fails_freshness_as_a_warning(
    instance, resources, clean
) -> None:
    """Rule 7: far events are synced every 6 h, so the warning starts past 12 h."""
    add_event(clean, "101", "a5", NEXT_MONTH, watermark=NOW - timedelta(hours=11))
    add_event(clean, "101", "a2", NEXT_MONTH, watermark=NOW - timedelta(hours=12, minutes=1))

    check = run_checks(instance, resources)["future_events_fresh"]

    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["lagging_future_events"].value == 1


def test_event_left_unsynced_longer_than_twice_the_longest_target_fails_freshness(
    instance, resources, clean
) -> None:
    add_event(clean, "101", "a3", NEXT_MONTH, first_seen=NOW - timedelta(hours=13))
    add_event(clean, "101", "a4", NEXT_MONTH)  # just discovered: not lagging yet

    check = run_checks(instance, resources)["future_events_fresh"]

    assert not check.passed
    assert check.metadata["lagging_future_events"].value == 1


def test_partitioned_run_only_judges_its_own_partner(instance, resources, clean) -> None:
    add_participant(clean, "102", "ghost-event", "p9")  # bolt's problem
    add_event(clean, "102", "b2", NEXT_MONTH, watermark=NOW - timedelta(hours=5))

    acme = run_checks(instance, resources, "acme")
    bolt = run_checks(instance, resources, "bolt")

    assert acme["events_exist"].passed and acme["future_events_fresh"].passed
    assert not bolt["events_exist"].passed and not bolt["future_events_fresh"].passed


def test_check_results_are_stored_per_partner(instance, resources, clean) -> None:
    """What the UI reads: each partner's latest evaluation, not one shared status."""
    add_participant(clean, "102", "ghost-event", "p9")  # bolt's problem

    run_checks(instance, resources, "bolt")
    run_checks(instance, resources, "acme")  # a later pass elsewhere must not hide bolt's failure

    check_key = dg.AssetCheckKey(dg.AssetKey(["runsignup", "participants"]), "events_exist")
    records = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=10)
    latest: dict[str, bool] = {}
    for record in reversed(records):  # oldest first: the last one per partner wins
        evaluation = record.event.dagster_event.event_specific_data
        latest[evaluation.partition] = evaluation.passed
    assert latest == {"acme": True, "bolt": False}
