"""Rule 7 through Dagster: a due run syncs only the events it names and reuses a recent events
list, so a hot race costs 2 RunSignUp calls (participants + removed) or one Haku page, counted
in the sandbox's own request log."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.commands.sync import run_config
from p88_pipeline.truth_comparison import compare_with_truth
from p88_pipeline_tests.defs.test_assets import bound_job, materialization, partners_file

TOKEN = "/oauth2/token"  # Haku's auth host: no quota, not an API read


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
    job = bound_job("sync", db_url, partners_file(tmp_path, sandbox))
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

        # seven hours on, the list is older than the longest target (6 h): read again
        world.advance(timedelta(hours=7), change_rate=0.0)
        sandbox.server.reset_log()
        assert due_run(job, instance, sandbox, due).success
        assert "/Rest/races" in calls(sandbox) and "/haku/api/events" in calls(sandbox)
    # only the due events are fresh: the other Haku event still lacks its changes
    comparison = compare_with_truth(engine, world, "haku", alpha.id, "alpha", world.clock.now())
    wrong = comparison.missing + comparison.stale + comparison.extra
    assert wrong and {k[0] for k in wrong} == {str(e.event_id) for e in others}
    with engine.connect() as conn:
        synced = conn.execute(
            sa.text("SELECT events_synced FROM sync_runs WHERE run_id = :r AND provider = 'haku'"),
            {"r": hot.run_id},
        ).scalar()
    assert synced == 1
