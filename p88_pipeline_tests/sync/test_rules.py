"""The sync rules end to end, for every provider: real Postgres, the sandbox over real HTTP,
assertions on tables. One suite, parametrized over the registry (profiles.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from p88_pipeline.config.partners import Partner, parse_partners
from p88_pipeline.providers import registry
from p88_pipeline.providers.base import AuthError
from p88_pipeline.sync import plan
from p88_pipeline.sync.engine import LoadOptions
from p88_pipeline.sync.figures import SyncFailedError, SyncFigures
from p88_pipeline_tests.helpers import FAST_RETRY, Sandbox, run_sync, watermarks
from p88_pipeline_tests.sync.profiles import PROFILES
from p88_pipeline_tests.sync.rules_profile import RulesProfile
from p88_sandbox.config import SandboxConfig
from p88_sandbox.fakes.registry import register_fake, unregister_fake
from p88_sandbox.partners_file import partner_environment, render_partners_yaml
from p88_sandbox.server import SandboxServer
from p88_sandbox.truth import compare_with_truth
from p88_sandbox.world import World

OVERLAP = plan.SyncPolicy().overlap


@pytest.fixture(params=PROFILES, ids=lambda p: p.provider)
def profile(request: pytest.FixtureRequest) -> Iterator[RulesProfile]:
    """A test-only provider is registered for the test's duration, through the registry."""
    profile = request.param
    if profile.test_only is not None:
        spec, fake = profile.test_only
        registry.register(spec)
        register_fake(fake)
    try:
        yield profile
    finally:
        if profile.test_only is not None:
            registry.unregister(profile.test_only[0].name)
            unregister_fake(profile.test_only[0].name)


@pytest.fixture
def sandbox(profile: RulesProfile, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    world = World(seed=88, scale="tiny")
    config = SandboxConfig().set(profile.provider, **profile.filter_knobs)
    with SandboxServer(world, config=config) as server:
        env = partner_environment(world)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield Sandbox(world, server, parse_partners(render_partners_yaml(world, server)), env)


def sync(engine, sandbox, profile, policy=None, partner=None) -> SyncFigures:
    return run_sync(
        engine, sandbox, profile.slug, policy, provider=profile.provider, partner=partner
    )


def with_account(partner: Partner, provider: str, **changes) -> Partner:
    account = partner.accounts[provider]
    if "options" in changes:
        changes["options"] = {**account.options, **changes["options"]}
    return replace(partner, accounts={**partner.accounts, provider: replace(account, **changes)})


def assert_equals_truth(engine: sa.Engine, sandbox: Sandbox, profile: RulesProfile) -> None:
    partner = sandbox.partner(profile.slug)
    result = compare_with_truth(
        engine, sandbox.world, profile.provider, partner.id, profile.slug, sandbox.world.clock.now()
    )
    assert result.mismatches == 0, str(result)
    assert result.active > 0


def participant_calls(sandbox: Sandbox, profile: RulesProfile) -> list:
    fragments = {profile.participants_path(e["race_id"]) for e in truth_events(sandbox, profile)}
    return [r for r in sandbox.server.log if any(f in r.path for f in fragments)]


def truth_events(sandbox: Sandbox, profile: RulesProfile) -> list[dict]:
    return sandbox.world.events(profile.provider, profile.slug)


def test_every_registered_provider_runs_this_suite() -> None:
    assert set(registry.names()) <= {p.provider for p in PROFILES}


def test_rule1_only_future_events_are_synced_and_every_event_is_stored(
    engine, sandbox, profile
) -> None:
    figures = sync(engine, sandbox, profile)
    events = truth_events(sandbox, profile)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT count(*) FROM provider_events WHERE provider = :p"),
            {"p": profile.provider},
        ).scalar()
        synced = set(
            conn.execute(sa.text("SELECT DISTINCT event_id FROM sync_watermarks")).scalars()
        )
    now = sandbox.world.clock.now()
    future = {str(e["event_id"]) for e in events if e["start_time"] > now - timedelta(days=1)}
    # Every event listed is stored; a provider with a server-side date filter lists fewer.
    assert len(future) <= stored == figures.events_total <= len(events)
    assert synced == future and 0 < len(future) < len(events)
    assert figures.events_synced == len(future)


def test_rule2_first_run_full_then_incremental_reads_only_what_changed(
    engine, sandbox, profile
) -> None:
    first = sync(engine, sandbox, profile)
    assert set(first.sync_types.values()) == {plan.FULL}
    assert_equals_truth(engine, sandbox, profile)
    sandbox.world.advance(timedelta(days=1))
    second = sync(engine, sandbox, profile)
    assert set(second.sync_types.values()) == {plan.INCREMENTAL}
    assert_equals_truth(engine, sandbox, profile)
    # Only what changed was read and written: far fewer rows than the first, full run.
    assert 0 < second.participants_upserted < first.participants_upserted / 5


def test_rule2_incremental_rereads_the_overlap_before_the_watermark_and_no_more(
    engine, sandbox, profile
) -> None:
    """A change stamped just before the watermark (clock drift, an unreliable boundary) is read
    again; one stamped before the overlap window is not: the read really is incremental."""
    sync(engine, sandbox, profile)
    event_id, (watermark, _) = next(iter(watermarks(engine, profile.provider).items()))
    ids = sorted(
        int(pid) for _, pid in sandbox.world.truth(profile.provider, profile.slug, [event_id])
    )
    inside, outside = str(ids[0]), str(ids[1])
    world = sandbox.world
    world.modify_participant(
        profile.provider, event_id, inside, at=watermark - OVERLAP / 2, first_name="Inside"
    )
    world.modify_participant(
        profile.provider, event_id, outside, at=watermark - OVERLAP * 2, first_name="Outside"
    )
    figures = sync(engine, sandbox, profile)
    assert figures.sync_types[event_id] == plan.INCREMENTAL
    with engine.connect() as conn:
        names = dict(
            conn.execute(
                sa.text(
                    "SELECT participant_id, first_name FROM participants "
                    "WHERE provider = :p AND participant_id IN (:a, :b)"
                ),
                {"p": profile.provider, "a": inside, "b": outside},
            ).all()
        )
    assert names[inside] == "Inside"
    assert names[outside] != "Outside"


def test_rule2_stale_watermark_forces_full(engine, sandbox, profile) -> None:
    sync(engine, sandbox, profile)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sync_watermarks SET watermark = watermark - interval '8d'"))
    figures = sync(engine, sandbox, profile)
    assert set(figures.sync_types.values()) == {plan.FULL}
    # The same 8-day-old watermarks are recent enough for a partner on a 30-day rule.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sync_watermarks SET watermark = watermark - interval '8d'"))
    lenient = sync(engine, sandbox, profile, plan.SyncPolicy(incremental_days=30))
    assert set(lenient.sync_types.values()) == {plan.INCREMENTAL}


def test_rule3_refused_incremental_filter_falls_back_to_full(
    engine, sandbox, profile, caplog
) -> None:
    partner = with_account(
        sandbox.partner(profile.slug), profile.provider, options=profile.filter_options
    )
    sync(engine, sandbox, profile, partner=partner)
    sandbox.world.advance(timedelta(days=1))
    race = truth_events(sandbox, profile)[-1]["race_id"]
    sandbox.server.inject(
        profile.provider,
        profile.slug,
        "bad_request",
        count=1,
        path_contains=profile.participants_path(race),
    )
    caplog.set_level(logging.INFO, logger="p88.sync")
    figures = sync(engine, sandbox, profile, partner=partner)
    assert plan.FULL_FALLBACK in figures.sync_types.values()
    # The operator's log says why the race was read whole.
    assert "full_fallback sync (incremental filter refused), modified after -" in caplog.text
    assert_equals_truth(engine, sandbox, profile)
    assert plan.FULL_FALLBACK in {t for _, t in watermarks(engine, profile.provider).values()}


def test_rule3_never_falls_back_on_throttling(engine, sandbox, profile) -> None:
    sync(engine, sandbox, profile)
    sandbox.server.reset_log()
    for race in {e["race_id"] for e in truth_events(sandbox, profile)}:
        sandbox.server.inject(
            profile.provider,
            profile.slug,
            "throttle",
            count=100,
            path_contains=profile.participants_path(race),
        )
    figures = sync(engine, sandbox, profile)
    assert figures.status == "quota_exhausted"
    assert plan.FULL_FALLBACK not in figures.sync_types.values()
    races = {e["race_id"]: e["event_ids"] for e in figures.errors}  # each stopped race named
    assert races and all(
        str(r) in {str(e["race_id"]) for e in truth_events(sandbox, profile)} for r in races
    )
    assert all(e["error"].startswith("ThrottledError: ") for e in figures.errors), figures.errors
    # It stopped at the first throttled races (as many as run at once) instead of spending more
    # calls on the others.
    calls = participant_calls(sandbox, profile)
    tried = {r.path for r in calls}
    assert len(tried) <= LoadOptions().parallel_groups
    assert len(calls) == len(tried) * FAST_RETRY.attempts


def test_rule4_watermark_is_sync_start_and_commits_with_the_data(engine, sandbox, profile) -> None:
    started = sandbox.world.clock.now()
    sync(engine, sandbox, profile)
    finished = sandbox.world.clock.now()
    for watermark, sync_type in watermarks(engine, profile.provider).values():
        assert sync_type == plan.FULL
        assert watermark.tzinfo is not None
        # The provider's clock (HTTP Date, whole seconds) at the start; never after the end.
        assert started - timedelta(seconds=1) <= watermark <= finished


def test_rule4_a_failed_race_keeps_its_old_watermark_and_writes_nothing(
    engine, sandbox, profile
) -> None:
    sync(engine, sandbox, profile)
    before = watermarks(engine, profile.provider)
    sandbox.world.advance(timedelta(days=1))
    events = truth_events(sandbox, profile)
    race_id = next(e["race_id"] for e in reversed(events) if str(e["event_id"]) in before)
    sandbox.server.inject(
        profile.provider,
        profile.slug,
        "http_500",
        count=100,
        path_contains=profile.participants_path(race_id),
    )
    with pytest.raises(SyncFailedError, match=f"race {race_id}"):
        sync(engine, sandbox, profile)
    after = watermarks(engine, profile.provider)
    failed = {str(e["event_id"]) for e in events if str(e["race_id"]) == str(race_id)} & set(before)
    assert failed, "the failing race must have future events"
    for event_id in before:
        if event_id in failed:
            assert after[event_id] == before[event_id]
        else:
            assert after[event_id][0] > before[event_id][0]
    sandbox.server.reset_faults()
    sync(engine, sandbox, profile)
    assert_equals_truth(engine, sandbox, profile)


def test_rule5_full_sync_soft_deletes_registrations_missing_from_the_read(
    engine, sandbox, profile
) -> None:
    sync(engine, sandbox, profile)
    with engine.begin() as conn:  # a registration the provider no longer has
        conn.execute(
            sa.text(
                "INSERT INTO participants (provider, timing_partner_id, event_id, participant_id, "
                "modified_at, raw) SELECT provider, timing_partner_id, event_id, 'ghost', "
                "modified_at, '{}' FROM participants LIMIT 1"
            )
        )
    figures = sync(engine, sandbox, profile, plan.SyncPolicy(force_full=True))
    assert figures.participants_removed == 1
    with engine.connect() as conn:
        reason = conn.execute(
            sa.text("SELECT removed_reason FROM participants WHERE participant_id = 'ghost'")
        ).scalar()
    assert reason == "missing from full sync"


def test_rule5_incremental_learns_removals(engine, sandbox, profile) -> None:
    sync(engine, sandbox, profile)
    sandbox.world.advance(timedelta(days=2))
    figures = sync(engine, sandbox, profile)
    assert set(figures.sync_types.values()) == {plan.INCREMENTAL}
    assert figures.participants_removed > 0
    assert_equals_truth(engine, sandbox, profile)


def test_a_rerun_changes_nothing(engine, sandbox, profile) -> None:
    sync(engine, sandbox, profile)

    def snapshot() -> list:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT event_id, participant_id, modified_at, removed_at, raw "
                    "FROM participants ORDER BY 1, 2"
                )
            ).all()

    before = snapshot()
    again = sync(engine, sandbox, profile, plan.SyncPolicy(force_full=True))
    assert again.participants_upserted == 0 and again.participants_removed == 0
    assert snapshot() == before


def test_rule4_a_registration_modified_during_a_long_read_is_picked_up_next_run(
    engine, sandbox, profile
) -> None:
    # Small pages so a race takes several calls; after the first page, a registration of the
    # event changes, then the read goes on for 30 minutes (the provider's clock moves on: longer
    # than the overlap). The running sync has passed the registration; its watermark (the
    # group's start, not its end) precedes the change, so the next incremental run must read it.
    partner = with_account(sandbox.partner(profile.slug), profile.provider, page_size=5)
    changed: list[str] = []
    seen: list[str] = []
    races: dict[str, list[int]] = {}
    for e in truth_events(sandbox, profile):
        races.setdefault(profile.participants_path(e["race_id"]), []).append(int(e["event_id"]))

    def modify_after_first_page(record) -> None:
        path = next((p for p in races if p in record.path), None)
        if path is None or changed:
            return
        seen.append(path)
        if seen.count(path) < 2:
            return
        event_id = str(min(races[path]))  # its ids come first: read by now, not read again
        truth = sandbox.world.truth(profile.provider, profile.slug, [event_id])
        victim = min(int(pid) for (_, pid), row in truth.items() if not row.removed)
        sandbox.world.modify_participant(
            profile.provider, event_id, str(victim), first_name="Changed-While-Paging"
        )
        changed.append(str(victim))
        sandbox.world.clock.advance(timedelta(minutes=30))

    sandbox.server.add_hook(modify_after_first_page)
    sync(engine, sandbox, profile, partner=partner)
    assert changed

    def name() -> str | None:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT first_name FROM participants WHERE participant_id = :p"),
                {"p": changed[0]},
            ).scalar()

    assert name() != "Changed-While-Paging"
    again = sync(engine, sandbox, profile, partner=partner)
    assert set(again.sync_types.values()) == {plan.INCREMENTAL}
    assert name() == "Changed-While-Paging"
    assert_equals_truth(engine, sandbox, profile)


def test_throttling_is_retried(engine, sandbox, profile) -> None:
    race = truth_events(sandbox, profile)[-1]["race_id"]
    path = profile.participants_path(race)
    sandbox.server.inject(profile.provider, profile.slug, "throttle", count=2, path_contains=path)
    sync(engine, sandbox, profile)
    assert_equals_truth(engine, sandbox, profile)


def test_wrong_credentials_fail_fast_naming_the_partner_not_the_secret(
    engine, sandbox, profile, monkeypatch
) -> None:
    account = sandbox.partner(profile.slug).accounts[profile.provider]
    var = next(iter(account.credential_envs.values()))
    monkeypatch.setenv(var, "wrong-key-123")
    with pytest.raises(AuthError) as caught:
        sync(engine, sandbox, profile)
    assert profile.slug in str(caught.value)
    assert "wrong-key-123" not in str(caught.value)
    assert sandbox.env[var] not in str(caught.value)
