"""The asset chain through Dagster: metadata, sync_runs figures, skips, full_refresh."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.commands.sync import run_config
from p88_pipeline.definitions import defs
from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_sandbox.truth import compare_with_truth


def bound_job(name: str, db_url: str, partners_file: Path) -> dg.JobDefinition:
    resources = {
        "warehouse": WarehouseResource(database_url=db_url),
        "partners": PartnersResource(partners_file=str(partners_file)),
        "sync_settings": SyncSettingsResource(),
    }
    return dg.Definitions(
        assets=defs.assets,
        jobs=defs.jobs,
        resources=resources,
    ).resolve_job_def(name)


def partners_file(tmp_path: Path, sandbox) -> Path:
    from p88_sandbox.partners_file import render_partners_yaml

    path = tmp_path / "partners.yaml"
    path.write_text(render_partners_yaml(sandbox.world, sandbox.server))
    return path


def run(job, instance, slug: str, sandbox, **config):
    result = job.execute_in_process(
        partition_key=slug,
        instance=instance,
        raise_on_error=False,
        run_config=run_config(as_of=sandbox.world.clock.now().isoformat(), **config),
    )
    return result


def materialization(result, key: list[str]) -> dict:
    events = result.asset_materializations_for_node("__".join(key))
    return {k: v.value for k, v in events[-1].metadata.items()}


def test_sync_job_records_figures_in_metadata_and_sync_runs(
    db_url, engine, sandbox, tmp_path
) -> None:
    job = bound_job("runsignup_sync", db_url, partners_file(tmp_path, sandbox))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("timing_partner", ["bravo"])
        first = run(job, instance, "bravo", sandbox)
        assert first.success
        meta = materialization(first, ["runsignup", "participants"])
        assert meta["events_full"] == meta["events_synced"] == meta["events_future"] > 0
        assert meta["participants_upserted"] > 0 and meta["api_calls"] >= 1
        # What the run knows of each endpoint's page size (issue 9), per asset.
        assert set(meta["page_caps"]) >= {"participants"}
        events_meta = materialization(first, ["runsignup", "events"])
        assert set(events_meta["page_caps"]) >= {"races"}
        sandbox.world.advance(timedelta(days=1))
        second = run(job, instance, "bravo", sandbox)
        assert second.success
        assert materialization(second, ["runsignup", "participants"])["events_incremental"] > 0
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT run_id, status, events_total, events_future, events_synced, api_calls, "
                "participants_upserted FROM sync_runs ORDER BY started_at"
            )
        ).all()
    assert [r.run_id for r in rows] == [first.run_id, second.run_id]
    assert all(r.status == "success" and r.events_total >= r.events_future > 0 for r in rows)
    # API calls summed over the run's assets: 1 events page + participants (+ removed) calls.
    # One call per read, plus at most one more per read while a list's page cap is unknown.
    assert 2 <= rows[0].api_calls <= 4 and 3 <= rows[1].api_calls <= 6
    with engine.connect() as conn:
        caps = conn.execute(sa.text("SELECT page_caps FROM sync_runs ORDER BY started_at")).all()
    assert set(caps[0].page_caps) == {"races", "participants"}  # merged over the run's assets
    assert "removed-participants" in caps[1].page_caps
    partner = sandbox.partner("bravo")
    result = compare_with_truth(
        engine, sandbox.world, "runsignup", partner.id, "bravo", sandbox.world.clock.now()
    )
    assert result.mismatches == 0


def test_a_partner_without_the_provider_gets_no_materialization(
    db_url, engine, sandbox, tmp_path
) -> None:
    job = bound_job("haku_sync", db_url, partners_file(tmp_path, sandbox))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("timing_partner", ["bravo"])
        sandbox.server.reset_log()
        result = run(job, instance, "bravo", sandbox)
        status = instance.get_status_by_partition(
            dg.AssetKey(["haku", "events"]), ["bravo"], timing_partner_partitions
        )
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert not [key for key in materialized if key.path[0] == "haku"]  # reports may refresh
    skipped = {e.step_key for e in result.all_events if e.is_step_skipped}
    assert {"haku__future_events", "haku__participants"} <= skipped
    assert status == {"bravo": None}  # "missing" in the UI, not "materialized"
    assert sandbox.server.calls(provider="haku") == 0


def test_participants_metadata_counts_every_stored_event(db_url, engine, sandbox, tmp_path) -> None:
    job = bound_job("runsignup_sync", db_url, partners_file(tmp_path, sandbox))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("timing_partner", ["bravo"])
        result = run(job, instance, "bravo", sandbox)
    assert result.success
    partner = sandbox.partner("bravo")
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT count(*) FROM provider_events WHERE provider = 'runsignup' "
                "AND timing_partner_id = :id"
            ),
            {"id": str(partner.id)},
        ).scalar()
    meta = materialization(result, ["runsignup", "participants"])
    # /races?start_date= lists only races from today - grace on: stored events may all be future
    assert meta["events_total"] == stored >= meta["events_future"] > 0
    assert meta["partner"] == "bravo"


def test_full_refresh_forces_full_syncs(db_url, engine, sandbox, tmp_path) -> None:
    path = partners_file(tmp_path, sandbox)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("timing_partner", ["bravo"])
        assert run(bound_job("runsignup_sync", db_url, path), instance, "bravo", sandbox).success
        refresh = bound_job("full_refresh", db_url, path)
        result = refresh.execute_in_process(
            partition_key="bravo", instance=instance, raise_on_error=False
        )
    assert result.success
    meta = materialization(result, ["runsignup", "participants"])
    assert meta["events_full"] == meta["events_synced"] > 0
    assert "events_incremental" not in meta
