"""A sync job bound to the test database, the sandbox's partners and a temporary export dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from p88_pipeline.commands.sync import run_config
from p88_pipeline.definitions import defs
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.settings import load_settings
from p88_sandbox.partners_file import render_partners_yaml


class Runner:
    """Runs the `sync` job (every provider, then the reports) for one partner, as the sensors
    and the CLI do, on the sandbox's clock."""

    def __init__(self, db_url: str, sandbox, tmp_path: Path, instance: dg.DagsterInstance) -> None:
        self.sandbox = sandbox
        self.exports = load_settings().exports  # the suite's P88_EXPORT_DIR, per test
        partners = tmp_path / "partners.yaml"
        partners.write_text(render_partners_yaml(sandbox.world, sandbox.server))
        self.defs = dg.Definitions(
            assets=defs.assets,
            asset_checks=defs.asset_checks,
            jobs=defs.jobs,
            resources={
                "warehouse": WarehouseResource(database_url=db_url),
                "partners": PartnersResource(partners_file=str(partners)),
                "sync_settings": SyncSettingsResource(),
            },
        )
        self.instance = instance

    def run(self, slug: str, job: str = "sync", **config) -> dg.ExecuteInProcessResult:
        if slug not in self.instance.get_dynamic_partitions("timing_partner"):
            self.instance.add_dynamic_partitions("timing_partner", [slug])
        return self.defs.resolve_job_def(job).execute_in_process(
            partition_key=slug,
            instance=self.instance,
            raise_on_error=False,
            run_config=run_config(as_of=self.sandbox.world.clock.now().isoformat(), **config),
        )


@pytest.fixture
def runner(db_url: str, sandbox, tmp_path: Path) -> Iterator[Runner]:
    with dg.instance_for_test() as instance:
        yield Runner(db_url, sandbox, tmp_path, instance)


def materialization(result: dg.ExecuteInProcessResult, *key: str) -> dict:
    events = result.asset_materializations_for_node("__".join(key))
    return {k: v.value for k, v in events[-1].metadata.items()}


def check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], object]:
    """(provider, check name) -> the run's evaluation of that check."""
    return {(e.asset_key.path[0], e.check_name): e for e in result.get_asset_check_evaluations()}
