"""The reports hang below every provider's participants and run in every sync job."""

from __future__ import annotations

import dagster as dg

from p88_pipeline.definitions import defs
from p88_pipeline.providers.registry import names

REPORTS = {dg.AssetKey(["reports", "event_registrations"]), dg.AssetKey(["reports", "start_lists"])}


def test_reports_depend_on_every_providers_participants() -> None:
    graph = defs.resolve_asset_graph()
    for key in REPORTS:
        assert graph.get(key).parent_keys == {dg.AssetKey([p, "participants"]) for p in names()}
        assert graph.get(key).partitions_def.name == "timing_partner"


def test_every_sync_job_ends_with_the_reports() -> None:
    for job in ("sync", "full_refresh", *(f"{p}_sync" for p in names())):
        keys = defs.resolve_job_def(job).asset_layer.asset_graph.executable_asset_keys
        assert keys >= REPORTS, job
