"""The sync rules end to end: real Postgres, the sandbox over real HTTP, assertions on tables."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from p88_pipeline.commands.verify import compare_with_truth
from p88_pipeline.providers.base import AuthError
from p88_pipeline.providers.timeparse import to_unix
from p88_pipeline.sync import plan
from p88_pipeline.sync.figures import SyncFailedError
from p88_pipeline_tests.helpers import Sandbox, run_sync, watermarks

SLUG = "bravo"  # RunSignUp only


def assert_equals_truth(
    engine: sa.Engine, sandbox: Sandbox, slug: str = SLUG, provider: str = "runsignup"
) -> None:
    partner = sandbox.partner(slug)
    result = compare_with_truth(
        engine, sandbox.world, provider, partner.id, slug, sandbox.world.clock.now()
    )
    assert result.mismatches == 0, str(result)
    assert result.active > 0


def participant_calls(sandbox: Sandbox, kind: str = "/participants") -> list[dict]:
    return [r.params for r in sandbox.server.log if r.path.endswith(kind)]


def test_rule1_only_future_events_are_synced_and_every_event_is_stored(engine, sandbox) -> None:
    figures = run_sync(engine, sandbox, SLUG)
    truth_events = sandbox.world.events("runsignup", SLUG)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM provider_events")).scalar()
        synced = set(
            conn.execute(sa.text("SELECT DISTINCT event_id FROM sync_watermarks")).scalars()
        )
    assert stored == len(truth_events) == figures.events_total
    now = sandbox.world.clock.now()
    future = {str(e["event_id"]) for e in truth_events if e["start_time"] > now - timedelta(days=1)}
    assert synced == future and 0 < len(future) < len(truth_events)
    assert figures.events_synced == len(future)


def test_rule2_first_run_full_then_incremental_reads_only_what_changed(engine, sandbox) -> None:
    first = run_sync(engine, sandbox, SLUG)
    assert set(first.sync_types.values()) == {plan.FULL}
    assert_equals_truth(engine, sandbox)
    before = watermarks(engine)

    sandbox.world.advance(timedelta(days=1))
    sandbox.server.reset_log()
    second = run_sync(engine, sandbox, SLUG)
    assert set(second.sync_types.values()) == {plan.INCREMENTAL}
    assert_equals_truth(engine, sandbox)
    # modified_after_timestamp = the oldest watermark of the race's events minus the overlap.
    # Per race: the oldest watermark of its future events minus the 10-minute overlap.
    truth_events = sandbox.world.events("runsignup", SLUG)
    race_of = {str(e["event_id"]): str(e["race_id"]) for e in truth_events}
    expected = {}
    for event_id, (watermark, _) in before.items():
        race = race_of[event_id]
        expected[race] = min(expected.get(race, watermark), watermark)
    sent = {p["event_id"]: int(p["modified_after_timestamp"]) for p in participant_calls(sandbox)}
    assert {race_of[ids.split(",")[0]]: stamp for ids, stamp in sent.items()} == {
        race: to_unix(w - timedelta(minutes=10)) for race, w in expected.items()
    }
    # One events page, then per race one participants and one removed-participants call.
    races = {
        e["race_id"]
        for e in sandbox.world.events("runsignup", SLUG)
        if str(e["event_id"]) in before
    }
    assert second.api_calls == 1 + 2 * len(races)
    # Only what changed was written: far fewer rows than the first, full run.
    assert 0 < second.participants_upserted < first.participants_upserted / 5


def test_rule2_stale_watermark_forces_full(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sync_watermarks SET watermark = watermark - interval '8d'"))
    figures = run_sync(engine, sandbox, SLUG)
    assert set(figures.sync_types.values()) == {plan.FULL}
    # The same 8-day-old watermarks are recent enough for a partner on a 30-day rule.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sync_watermarks SET watermark = watermark - interval '8d'"))
    lenient = run_sync(engine, sandbox, SLUG, plan.SyncPolicy(incremental_days=30))
    assert set(lenient.sync_types.values()) == {plan.INCREMENTAL}


def test_rule4_watermark_is_sync_start_and_commits_with_the_data(engine, sandbox) -> None:
    started = sandbox.world.clock.now()
    run_sync(engine, sandbox, SLUG)
    finished = sandbox.world.clock.now()
    for watermark, sync_type in watermarks(engine).values():
        assert sync_type == plan.FULL
        assert watermark.tzinfo is not None
        # The provider's clock (HTTP Date, whole seconds) at the start; never after the end.
        assert started - timedelta(seconds=1) <= watermark <= finished


def test_rule4_a_failed_race_keeps_its_old_watermark_and_writes_nothing(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)
    before = watermarks(engine)
    sandbox.world.advance(timedelta(days=1))
    # Every attempt at one race's participants fails: that race's group must roll back.
    race_id = sandbox.world.events("runsignup", SLUG)[-1]["race_id"]
    sandbox.server.inject(
        "runsignup", SLUG, "http_500", count=100, path_contains=f"/race/{race_id}/participants"
    )
    with pytest.raises(SyncFailedError, match=f"race {race_id}"):
        run_sync(engine, sandbox, SLUG)
    after = watermarks(engine)
    failed = {
        str(e["event_id"])
        for e in sandbox.world.events("runsignup", SLUG)
        if str(e["race_id"]) == str(race_id)
    } & set(before)
    assert failed, "the failing race must have future events"
    for event_id in before:
        if event_id in failed:
            assert after[event_id] == before[event_id]
        else:
            assert after[event_id][0] > before[event_id][0]
    sandbox.server.reset_faults()
    run_sync(engine, sandbox, SLUG)
    assert_equals_truth(engine, sandbox)


def test_rule5_full_sync_soft_deletes_registrations_missing_from_the_read(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)
    with engine.begin() as conn:  # a registration the provider no longer has
        conn.execute(
            sa.text(
                "INSERT INTO participants (provider, timing_partner_id, event_id, participant_id, "
                "modified_at, raw) SELECT provider, timing_partner_id, event_id, 'ghost', "
                "modified_at, '{}' FROM participants LIMIT 1"
            )
        )
    figures = run_sync(engine, sandbox, SLUG, plan.SyncPolicy(force_full=True))
    assert figures.participants_removed == 1
    with engine.connect() as conn:
        reason = conn.execute(
            sa.text("SELECT removed_reason FROM participants WHERE participant_id = 'ghost'")
        ).scalar()
    assert reason == "missing from full sync"


def test_rule5_incremental_learns_removals_from_the_removed_list(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)
    sandbox.world.advance(timedelta(days=2))
    figures = run_sync(engine, sandbox, SLUG)
    assert set(figures.sync_types.values()) == {plan.INCREMENTAL}
    assert figures.participants_removed > 0
    assert participant_calls(sandbox, "/removed-participants")
    assert_equals_truth(engine, sandbox)


def test_a_rerun_changes_nothing(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)

    def snapshot() -> list:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT event_id, participant_id, modified_at, removed_at, raw "
                    "FROM participants ORDER BY 1, 2"
                )
            ).all()

    before = snapshot()
    again = run_sync(engine, sandbox, SLUG, plan.SyncPolicy(force_full=True))
    assert again.participants_upserted == 0 and again.participants_removed == 0
    assert snapshot() == before


def test_rule4_a_registration_modified_during_a_long_read_is_picked_up_next_run(
    engine, sandbox
) -> None:
    # Small pages so a race takes several calls; between page 1 and 2, a page-1 registration
    # changes, then the read goes on for 30 minutes (the provider's clock moves on: longer than
    # the overlap). The running sync has passed the registration; its watermark (the group's
    # start, not its end) precedes the change, so the next incremental run must read it.
    partner = sandbox.partner(SLUG)
    account = partner.accounts["runsignup"]
    small = type(account)(**{**account.__dict__, "page_size": 5})
    partner = type(partner)(**{**partner.__dict__, "accounts": {"runsignup": small}})
    changed: list[str] = []

    def modify_after_first_page(record) -> None:
        params = record.params
        if (
            not changed
            and record.path.endswith("/participants")
            and "after_registration_id" in params
        ):
            event_id = params["event_id"].split(",")[0]
            victim = min(int(k[1]) for k in sandbox.world.truth("runsignup", SLUG, [event_id]))
            sandbox.world.modify_participant(
                "runsignup", event_id, str(victim), first_name="Changed-While-Paging"
            )
            changed.append(str(victim))
            sandbox.world.clock.advance(timedelta(minutes=30))

    sandbox.server.add_hook(modify_after_first_page)
    run_sync(engine, sandbox, SLUG, partner=partner)
    assert changed
    with engine.connect() as conn:

        def name() -> str:
            return conn.execute(
                sa.text("SELECT first_name FROM participants WHERE participant_id = :p"),
                {"p": changed[0]},
            ).scalar()

        assert name() != "Changed-While-Paging"
        conn.rollback()
        again = run_sync(engine, sandbox, SLUG, partner=partner)
        assert set(again.sync_types.values()) == {plan.INCREMENTAL}
        assert name() == "Changed-While-Paging"
    assert_equals_truth(engine, sandbox)


def test_error_14_in_a_200_body_is_retried_as_throttling(engine, sandbox) -> None:
    sandbox.server.inject("runsignup", SLUG, "throttle", count=2, path_contains="/participants")
    run_sync(engine, sandbox, SLUG)
    assert_equals_truth(engine, sandbox)


def test_error_wrapped_in_an_array_is_recognised(engine, sandbox) -> None:
    sandbox.server.inject(
        "runsignup", SLUG, "error_in_array", count=1, path_contains="/participants"
    )
    run_sync(engine, sandbox, SLUG)
    assert_equals_truth(engine, sandbox)


def test_a_page_past_the_end_is_an_empty_list(engine, sandbox) -> None:
    partner = sandbox.partner(SLUG)
    event_id = next(e for e in watermarks_after_first_sync(engine, sandbox))
    size = len(sandbox.world.truth("runsignup", SLUG, [event_id]))
    account = partner.accounts["runsignup"]
    exact = type(account)(**{**account.__dict__, "page_size": size})
    partner = type(partner)(**{**partner.__dict__, "accounts": {"runsignup": exact}})
    run_sync(engine, sandbox, SLUG, plan.SyncPolicy(force_full=True), partner=partner)
    assert_equals_truth(engine, sandbox)


def watermarks_after_first_sync(engine, sandbox) -> list[str]:
    run_sync(engine, sandbox, SLUG)
    return list(watermarks(engine))


def test_wrong_credentials_fail_fast_naming_the_partner_not_the_secret(
    engine, sandbox, monkeypatch
) -> None:
    key_var = sandbox.partner(SLUG).accounts["runsignup"].credential_envs["api_key_env"]
    monkeypatch.setenv(key_var, "wrong-key-123")
    with pytest.raises(AuthError) as caught:
        run_sync(engine, sandbox, SLUG)
    assert SLUG in str(caught.value)
    assert "wrong-key-123" not in str(caught.value)
    assert sandbox.env[key_var] not in str(caught.value)


def test_rule3_refused_incremental_filter_falls_back_to_full(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)
    sandbox.world.advance(timedelta(days=1))
    # Error 3 (invalid parameters) on a call that carried modified_after_timestamp.
    sandbox.server.inject(
        "runsignup", SLUG, "error_in_array", count=1, error_code=3, path_contains="/participants"
    )
    figures = run_sync(engine, sandbox, SLUG)
    assert plan.FULL_FALLBACK in figures.sync_types.values()
    assert_equals_truth(engine, sandbox)
    assert plan.FULL_FALLBACK in {t for _, t in watermarks(engine).values()}


def test_rule3_never_falls_back_on_throttling(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)
    sandbox.server.reset_log()
    sandbox.server.inject("runsignup", SLUG, "throttle", count=100, path_contains="/participants")
    figures = run_sync(engine, sandbox, SLUG)
    assert figures.status == "quota_exhausted"
    assert plan.FULL_FALLBACK not in figures.sync_types.values()
    # It stopped at the first throttled race instead of spending more calls on the others.
    assert len(participant_calls(sandbox)) == 4  # FAST_RETRY.attempts
