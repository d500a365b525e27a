"""Issue 9's acceptance: a run under "every row rejected" fails, alerts, and leaves the warehouse
as it was (through the Dagster job and the run-failure sensor, against the sandbox)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from p88_pipeline.definitions import defs
from p88_pipeline.defs.alerts.sensors import run_failure_alerts
from p88_pipeline_tests.defs.test_run_failure_alerts import Receiver
from p88_sandbox.truth import future_truth_events

SLUG = "bravo"  # RunSignUp only in the seed-88 world


def warehouse_state(engine: sa.Engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            tuple(conn.execute(sa.text(query)).all())
            for query in (
                "SELECT * FROM participants ORDER BY provider, event_id, participant_id",
                "SELECT * FROM sync_watermarks ORDER BY provider, event_id",
                "SELECT * FROM rejected_records ORDER BY id",
            )
        )


def test_a_run_with_every_row_rejected_fails_alerts_and_leaves_the_warehouse(
    sandbox_env: tuple[Any, Path], engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _ = sandbox_env
    job = defs.resolve_job_def("runsignup_sync")
    receiver = Receiver()
    monkeypatch.setenv("P88_ALERT_WEBHOOK_URL", receiver.url)
    try:
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions("timing_partner", [SLUG])
            assert job.execute_in_process(partition_key=SLUG, instance=instance).success
            before = warehouse_state(engine)
            world.advance(timedelta(hours=1))
            now = world.clock.now()
            for event_id in future_truth_events(world, "runsignup", SLUG, now, timedelta(days=1)):
                for _, pid in world.truth("runsignup", SLUG, [event_id]):
                    try:  # an impossible date of birth: the record becomes unreadable
                        world.modify_participant("runsignup", event_id, pid, dob="1990-02-30")
                    except ValueError:
                        continue  # removed registrations cannot change

            result = job.execute_in_process(
                partition_key=SLUG, instance=instance, raise_on_error=False
            )
            assert not result.success
            (failure,) = [e for e in result.all_events if e.is_step_failure]
            assert failure.step_key == "runsignup__participants"
            message = failure.step_failure_data.error.cause.message  # the asset's own error
            assert f"partner {SLUG} event " in message and "rows rejected" in message
            assert warehouse_state(engine) == before

            run = instance.get_run_by_id(result.run_id)
            (event,) = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            run_failure_alerts(
                dg.build_run_status_sensor_context(
                    sensor_name="run_failure_alerts",
                    dagster_event=event.dagster_event,
                    dagster_instance=instance,
                    dagster_run=run,
                    resources={
                        "warehouse": defs.resources["warehouse"],
                        "partners": defs.resources["partners"],
                    },
                ).for_run_failure()
            )
    finally:
        receiver.close()
    (body,) = receiver.bodies
    assert "rows rejected" in json.dumps(json.loads(body))
    with engine.connect() as conn:
        alert = conn.execute(sa.text("SELECT timing_partner, steps FROM sync_alerts")).one()
    assert alert.timing_partner == SLUG and alert.steps == ["runsignup__participants"]
