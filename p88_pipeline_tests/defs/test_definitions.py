"""The Definitions load, automation is on by default, `p88 dev` is wired, and the repo's
dagster.yaml starts a real instance on Postgres with the limits it promises."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.run_coordinator import SubmitRunContext
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from p88_pipeline.cli import build_parser
from p88_pipeline.commands.dev import dev_command, dev_environment
from p88_pipeline.definitions import defs
from p88_pipeline.defs.race_week_checks import CHECK_NAMES as RACE_WEEK_CHECKS
from p88_pipeline.settings import PROJECT_ROOT, load_settings


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)


def test_sensors_and_schedule_are_running_by_default() -> None:
    for name in (
        "timing_partner_partitions",
        "stale_watermarks",
        "run_failure_alerts",
        "run_recovery_alerts",
    ):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_sensor_def("stale_watermarks").minimum_interval_seconds == 60
    schedule = defs.resolve_schedule_def("nightly_sync")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_jobs_run_the_participant_checks() -> None:
    for job in ("sync", "full_refresh"):
        checks = defs.resolve_job_def(job).asset_layer.asset_graph.asset_check_keys
        assert {c.name for c in checks} == {
            "unique_participant_keys",
            "events_exist",
            "future_events_fresh",
            "race_day_fresh",
            *RACE_WEEK_CHECKS,
        }


def test_p88_dev_binds_localhost_on_port_3000_by_default(tmp_path: Path) -> None:
    args = build_parser().parse_args(["dev"])
    assert (args.port, args.host) == (3000, "127.0.0.1")
    command = dev_command(args.port, args.host, PROJECT_ROOT / "workspace.yaml")
    assert command[1:4] == ["-m", "dagster", "dev"]
    assert command[-4:] == ["-h", "127.0.0.1", "-p", "3000"]
    settings = load_settings({"P88_DATA_DIR": str(tmp_path), "P88_PARTNERS_FILE": "p.yaml"})
    env = dev_environment(settings, {})
    assert Path(env["P88_PARTNERS_FILE"]).is_absolute()
    assert env["P88_DATA_DIR"] == str(tmp_path)


def test_repo_dagster_yaml_starts_an_instance_on_postgres(
    tmp_path: Path, dagster_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_pg_url)

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "PartnerRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert {
            "key": "timing_partner",
            "value": {"applyLimitPerUniqueValue": True},
            "limit": 1,
        } in queue.tag_concurrency_limits
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 4
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
        instance.add_dynamic_partitions("timing_partner", ["acme"])
        assert instance.get_dynamic_partitions("timing_partner") == ["acme"]

        # A UI "Materialize all" run carries only dagster/partition; the coordinator adds the
        # partner tag the limit above keys on before the run enters the queue.
        run = instance.add_run(
            dg.DagsterRun(
                job_name="__ASSET_JOB",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.NOT_STARTED,
                tags={"dagster/partition": "acme"},
                remote_job_origin=RemoteJobOrigin(
                    RemoteRepositoryOrigin(
                        InProcessCodeLocationOrigin(
                            LoadableTargetOrigin(module_name="p88_pipeline.definitions")
                        ),
                        "__repository__",
                    ),
                    "__ASSET_JOB",
                ),
            )
        )
        queued = instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))
        assert queued.status == dg.DagsterRunStatus.QUEUED
        assert queued.tags["timing_partner"] == "acme"
        assert queued.tags["p88/source"] == "ui"


def test_every_launch_path_runs_in_process() -> None:
    """UI Materialize / Materialize all run the implicit asset job: same executor as sync."""
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor
    for job in ("sync", "full_refresh", "runsignup_sync", "haku_sync"):
        assert defs.resolve_job_def(job).executor_def is dg.in_process_executor


def test_full_refresh_says_what_it_does() -> None:
    job = defs.resolve_job_def("full_refresh")
    assert job.tags["p88/full_sync"] == "true"
    assert "FULL SYNC" in (job.description or "")
    config = job.get_run_config_for_partition_key("acme")
    assert config["resources"]["sync_settings"]["config"] == {"force_full_sync": True}
