"""Rule 7 through Dagster: a due run syncs only the events it names and reuses a recent events
list, so a hot race costs 2 RunSignUp calls (participants + removed) or one Haku page, counted
in the sandbox's own request log."""

from __future__ import annotations

import re
from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.commands.status import partner_status, render
from p88_pipeline.commands.sync import run_config
from p88_pipeline.definitions import defs
from p88_pipeline.defs.freshness import build_freshness_check
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline_tests.defs.test_assets import materialization, partners_file
from p88_sandbox.truth import compare_with_truth

TOKEN = "/oauth2/token"


def sync_job_with_check(db_url, tmp_path, sandbox) -> dg.JobDefinition:
    """The sync job with the Haku race-day check, evaluated after each participants step."""
    return dg.Definitions(
        assets=defs.assets,
        asset_checks=[build_freshness_check("haku")],
        jobs=defs.jobs,
        resources={
            "warehouse": WarehouseResource(database_url=db_url),
            "partners": PartnersResource(partners_file=str(partners_file(tmp_path, sandbox))),
            "sync_settings": SyncSettingsResource(),
        },
    ).resolve_job_def("sync")


def race_day(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def due_run(job, instance, sandbox, due: list[str], as_of=None) -> dg.ExecuteInProcessResult:
    config = run_config(as_of=(as_of or sandbox.world.clock.now()).isoformat())
    config["resources"]["sync_settings"]["config"].update(
        due_events=due, events_list_max_age_minutes=360
    )
    return job.execute_in_process(
        partition_key="alpha", instance=instance, raise_on_error=False, run_config=config
    )


def calls(sandbox) -> list[str]:
    return sorted(
        r.path for r in sandbox.server.log if r.partner_slug == "alpha" and TOKEN not in r.path
    )


def test_a_due_run_reads_only_its_races_and_reuses_a_recent_events_list(
    db_url, engine, sandbox, tmp_path
) -> None:
    world = sandbox.world
    alpha = next(p for p in sandbox.partners if p.slug == "alpha")
    job = sync_job_with_check(db_url, tmp_path, sandbox)
    now = world.clock.now()
    race = next(
        e for e in world.event_states("runsignup", "alpha") if e.start > now + timedelta(hours=2)
    )
    hot_rsu = [e.event_id for e in world.race_events("runsignup", race.race_id)]
    hot_haku = next(
        e for e in world.event_states("haku", "alpha") if e.start > now + timedelta(hours=2)
    ).event_id
    due = [f"runsignup:{e}" for e in hot_rsu] + [f"haku:{hot_haku}"]
    others = [
        e for e in world.event_states("haku", "alpha") if e.start > now and e.event_id != hot_haku
    ]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("timing_partner", ["alpha"])
        whole = job.execute_in_process(
            partition_key="alpha",
            instance=instance,
            run_config=run_config(as_of=world.clock.now().isoformat()),
        )
        assert whole.success
        world.advance(timedelta(minutes=10), change_rate=0.05)
        for event in [world.event_state("haku", hot_haku), *others]:  # a change in each
            pid = world.active_ids(event)[0]
            world.modify_participant("haku", event.event_id, pid, email=f"new.{pid}@example.org")
        sandbox.server.reset_log()

        hot = due_run(job, instance, sandbox, due)

        assert hot.success
        assert calls(sandbox) == [
            f"/Rest/race/{race.race_id}/participants",
            f"/Rest/race/{race.race_id}/removed-participants",
            f"/haku/api/events/{hot_haku}/participants",
        ]
        listed = materialization(hot, ["runsignup", "events"])
        assert listed["events_list"] == "reused"
        assert materialization(hot, ["runsignup", "participants"])["events_synced"] == 2
        haku = materialization(hot, ["haku", "participants"])
        assert (haku["events_synced"], haku["events_future"]) == (1, 2)

        # only the due events are fresh: the other Haku event still lacks its changes
        comparison = compare_with_truth(engine, world, "haku", alpha.id, "alpha", world.clock.now())
        wrong = comparison.missing + comparison.stale + comparison.extra
        assert wrong and {k[0] for k in wrong} == {str(e.event_id) for e in others}
        lags = haku["freshness_lag"]
        assert lags[str(hot_haku)]["band"] == "within 48 h" and lags[str(hot_haku)]["lag_min"] < 1
        assert race_day(hot).passed
        rows = partner_status(engine, [alpha], world.clock.now(), timedelta(days=1))
        status = {r["provider"]: r for r in rows}
        shown = render(rows)  # one event is "1 event", in the run and in the band
        one_event = r"^alpha haku: .*calls, 1 event\)\n  within 48 h +1 event +max lag"
        assert re.search(one_event, shown, re.M)
        assert status["haku"]["bands"]["within 48 h"]["events"] == 1
        assert status["haku"]["last_run"]["events_synced"] == 1
        assert status["runsignup"]["bands"]["later"]["events"] == 2

        # 25 minutes on, a run of another event: the race-day one is > twice its target behind
        world.clock.advance(timedelta(minutes=25))
        evaluation = race_day(due_run(job, instance, sandbox, [f"haku:{others[0].event_id}"]))
        assert not evaluation.passed
        assert evaluation.metadata["late"].value[0]["event_id"] == str(hot_haku)

        # seven hours on, the list is older than the longest target (6 h): read again
        world.advance(timedelta(hours=7), change_rate=0.0)
        sandbox.server.reset_log()
        assert due_run(job, instance, sandbox, due).success
        assert "/Rest/races" in calls(sandbox) and "/haku/api/events" in calls(sandbox)
    with engine.connect() as conn:
        synced = conn.execute(
            sa.text("SELECT events_synced FROM sync_runs WHERE run_id = :r AND provider = 'haku'"),
            {"r": hot.run_id},
        ).scalar()
    assert synced == 1
