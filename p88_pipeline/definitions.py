"""The single Dagster entry point (workspace.yaml and pyproject's [tool.dagster] point here)."""

import dagster as dg

from p88_pipeline.defs.assets import build_provider_assets
from p88_pipeline.defs.jobs import full_refresh_job, provider_sync_jobs, sync_job
from p88_pipeline.defs.resources import (
    PartnersResource,
    SyncSettingsResource,
    WarehouseResource,
)
from p88_pipeline.partners import PROVIDERS

defs = dg.Definitions(
    assets=[asset for provider in PROVIDERS for asset in build_provider_assets(provider)],
    jobs=[sync_job, full_refresh_job, *provider_sync_jobs.values()],
    resources={
        "warehouse": WarehouseResource(),
        "partners": PartnersResource(),
        "sync_settings": SyncSettingsResource(),
    },
)
