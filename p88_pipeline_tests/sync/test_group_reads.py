"""A race group's read and write against the sandbox, for what the rule suites do not vary: the
watermark on the provider's clock when ours runs ahead (rule 4), and a race bigger than one
write batch (memory stays one batch; every batch counted)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import Transport
from p88_pipeline.sync import group
from p88_pipeline.sync.engine import (
    LoadOptions,
    SyncScope,
    select_future,
    sync_events,
    sync_participants,
)
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline.warehouse.participants import ParticipantWriter
from p88_pipeline_tests.helpers import FAST_RETRY, watermarks
from p88_pipeline_tests.reliability.support import (
    assert_equals_truth,
    future_event_ids,
    with_page_size,
)


def stored_rows(engine: sa.Engine, partner_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT count(*) FROM participants WHERE timing_partner_id = :t"),
            {"t": partner_id},
        ).scalar()


def test_the_watermark_is_the_providers_time_when_our_clock_runs_ahead(engine, sandbox) -> None:
    """Our clock 30 minutes fast: a watermark from it would skip the changes the provider
    records in those 30 minutes. The provider's Date header is the sync's start (rule 4)."""
    partner, world = sandbox.partner("alpha"), sandbox.world
    client = build_client(partner, "runsignup", transport=Transport(FAST_RETRY))
    sync_events(engine, client, partner)
    policy = SyncPolicy()
    _, future = select_future(engine, "runsignup", partner, world.clock.now(), policy)

    def ahead():
        return world.clock.now() + timedelta(minutes=30)

    figures = sync_participants(SyncScope(engine, client, partner), future, policy, ahead)
    assert figures.events_synced == len(future) > 0
    marks = [mark for mark, _ in watermarks(engine).values()]
    assert marks and max(marks) <= world.clock.now()


def test_a_race_bigger_than_a_batch_is_written_batch_by_batch(engine, sandbox, monkeypatch):
    monkeypatch.setattr(group, "BATCH_ROWS", 4)
    batches: list[int] = []

    class Recording(ParticipantWriter):
        def upsert(self, participants):
            batches.append(len(participants))
            return super().upsert(participants)

    partner = with_page_size(sandbox.partner("alpha"), "runsignup", 2)  # 2 rows a page
    client = build_client(partner, "runsignup", transport=Transport(FAST_RETRY))
    sync_events(engine, client, partner)
    policy, now = SyncPolicy(), sandbox.world.clock.now
    _, future = select_future(engine, "runsignup", partner, now(), policy)
    figures = sync_participants(
        SyncScope(engine, client, partner), future, policy, now, LoadOptions(writer=Recording)
    )
    full = [n for n in batches if n == 4]
    assert len(full) >= 2 and all(n <= 4 for n in batches)  # flushed as soon as a batch is full
    assert figures.participants_upserted == stored_rows(engine, partner.id) == sum(batches)
    assert_equals_truth(engine, sandbox, "alpha")


def test_a_partners_figures_add_up_over_its_groups(engine, sandbox) -> None:
    """Each group adds its rows to the run's figures: bravo's two events read as two groups (the
    per-event grouping), one registration removed in each."""
    partner, world = sandbox.partner("bravo"), sandbox.world
    client = build_client(partner, "runsignup", transport=Transport(FAST_RETRY))
    policy, per_event = SyncPolicy(), LoadOptions(group_by_race=False)

    def read():
        sync_events(engine, client, partner)
        _, future = select_future(engine, "runsignup", partner, world.clock.now(), policy)
        assert len(future) == 2
        return sync_participants(
            SyncScope(engine, client, partner), future, policy, world.clock.now, per_event
        )

    first = read()
    assert first.participants_upserted == stored_rows(engine, partner.id)
    world.clock.advance(timedelta(hours=1))
    events = future_event_ids(sandbox, "bravo")
    for event_id in events:
        event = world.event_state("runsignup", event_id)
        world.remove_participant("runsignup", event_id, world.active_ids(event)[0])
    night = read()
    assert (night.events_synced, night.participants_removed) == (2, 2)
    assert_equals_truth(engine, sandbox, "bravo")
