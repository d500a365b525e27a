"""Stage 3's own rules against the sandbox: one sync per partner and provider at a time (the
other provider's sync of the same partner is not blocked), and the biggest races read first."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from p88_pipeline.providers.base import AuthError
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import Transport
from p88_pipeline.sync import cancel
from p88_pipeline.sync.engine import (
    LoadOptions,
    PartnerBusyError,
    SyncScope,
    partner_lock,
    select_future,
    sync_events,
    sync_participants,
)
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline_tests.helpers import FAST_RETRY, run_sync


def test_one_sync_per_partner_and_provider_at_a_time(engine, sandbox) -> None:
    partner = sandbox.partner("alpha")
    with partner_lock(engine, "haku", partner):  # alpha's Haku sync runs
        assert run_sync(engine, sandbox, "alpha").status == "success"  # RunSignUp's is not held
    with (
        partner_lock(engine, "runsignup", partner),
        pytest.raises(
            PartnerBusyError,
            match="^runsignup partner alpha: another sync holds its lock; not starting$",
        ),
    ):
        run_sync(engine, sandbox, "alpha")


def test_the_biggest_races_are_read_first(engine, sandbox) -> None:
    """Their reads are the longest, and their pages teach the smaller reads the page size."""
    partner, world = sandbox.partner("alpha"), sandbox.world
    run_sync(engine, sandbox, "alpha", provider="haku")
    with engine.connect() as conn:
        sizes = dict(
            conn.execute(
                sa.text(
                    "SELECT event_id, count(*) FROM participants WHERE provider = 'haku' "
                    "AND timing_partner_id = :t AND removed_at IS NULL GROUP BY event_id"
                ),
                {"t": partner.id},
            ).all()
        )
    assert len(set(sizes.values())) >= 2, sizes  # races of different sizes
    client = build_client(partner, "haku", transport=Transport(FAST_RETRY))
    policy = SyncPolicy()
    sync_events(engine, client, partner)
    _, future = select_future(engine, "haku", partner, world.clock.now(), policy)
    sandbox.server.reset_log()
    one_at_a_time = LoadOptions(parallel_groups=1)
    sync_participants(
        SyncScope(engine, client, partner), future, policy, world.clock.now, one_at_a_time
    )
    order: list[str] = []
    for record in sandbox.server.log:
        parts = record.path.strip("/").split("/")
        if parts[-1] == "participants" and parts[-2] not in order:
            order.append(parts[-2])
    assert set(order) == {e.event_id for e in future}
    assert [sizes.get(e, 0) for e in order] == sorted(
        (sizes.get(e, 0) for e in order), reverse=True
    )


def test_refused_credentials_stop_the_run_before_another_race_is_read(engine, sandbox) -> None:
    """RunSignUp error 6 on a race's call is the credentials' refusal: the run fails at once,
    and no other group asks again with the refused keys (bravo's two events read as two
    groups, one at a time)."""
    partner, world = sandbox.partner("bravo"), sandbox.world
    client = build_client(partner, "runsignup", transport=Transport(FAST_RETRY))
    policy = SyncPolicy()
    sync_events(engine, client, partner)
    _, future = select_future(engine, "runsignup", partner, world.clock.now(), policy)
    assert len(future) == 2
    sandbox.server.inject("runsignup", "bravo", "error_in_array", count=1000, error_code=6)
    sandbox.server.reset_log()
    one_by_one = LoadOptions(group_by_race=False, parallel_groups=1)
    with pytest.raises(AuthError):
        sync_participants(
            SyncScope(engine, client, partner), future, policy, world.clock.now, one_by_one
        )
    assert len(sandbox.server.log) == 1  # the first group's first call, and nothing after it


def test_a_stop_that_arrives_after_the_last_race_does_not_fail_the_run(
    engine, sandbox, caplog
) -> None:
    """Ctrl-C between the last race's commit and the stage's end: nothing is left undone, so
    the run is a success, not 'interrupted' (which would alert and re-run for nothing)."""

    class StopAtTheEnd(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if ": done in " in record.getMessage():  # the stage's summary, after every race
                cancel.request()

    handler = StopAtTheEnd()
    caplog.set_level(logging.INFO, logger="p88.sync")  # the summary is an INFO line
    logging.getLogger("p88.sync").addHandler(handler)
    try:
        figures = run_sync(engine, sandbox, "bravo")
        assert cancel.requested()  # the stop did arrive
    finally:
        logging.getLogger("p88.sync").removeHandler(handler)
        cancel.clear()
    assert figures.status == "success" and figures.events_synced == figures.events_future > 0
