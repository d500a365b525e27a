"""The single Dagster entry point (workspace.yaml and pyproject's [tool.dagster] point here)."""

import dagster as dg

from p88_pipeline.defs.alerts.sensors import run_failure_alerts, run_recovery_alerts
from p88_pipeline.defs.assets import build_provider_assets
from p88_pipeline.defs.checks import build_participant_checks
from p88_pipeline.defs.freshness import build_freshness_check
from p88_pipeline.defs.jobs import EXECUTOR, full_refresh_job, provider_sync_jobs, sync_job
from p88_pipeline.defs.race_week_checks import build_race_week_checks
from p88_pipeline.defs.reports import report_assets
from p88_pipeline.defs.resources import (
    PartnersResource,
    SyncSettingsResource,
    WarehouseResource,
)
from p88_pipeline.defs.schedules import nightly_sync_schedule
from p88_pipeline.defs.sensors import partner_partitions_sensor, stale_watermarks_sensor
from p88_pipeline.providers.registry import names

defs = dg.Definitions(
    assets=[
        *(asset for provider in names() for asset in build_provider_assets(provider)),
        *report_assets,
    ],
    asset_checks=[
        *(check for provider in names() for check in build_participant_checks(provider)),
        *(check for provider in names() for check in build_race_week_checks(provider)),
        *(build_freshness_check(provider) for provider in names()),
    ],
    jobs=[sync_job, full_refresh_job, *provider_sync_jobs.values()],
    schedules=[nightly_sync_schedule],
    sensors=[
        partner_partitions_sensor,
        stale_watermarks_sensor,
        run_failure_alerts,
        run_recovery_alerts,
    ],
    # "Materialize" and "Materialize all" in the UI run Dagster's implicit asset job, which takes
    # this executor: in process, like sync (not one process per step).
    executor=EXECUTOR,
    resources={
        "warehouse": WarehouseResource(),
        "partners": PartnersResource(),
        "sync_settings": SyncSettingsResource(),
    },
)
