"""Rule 8: a read that stores nothing of what the provider returned fails loudly, per race, and
leaves the warehouse as it was; the partner's other races still sync."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from p88_pipeline.sync import plan
from p88_pipeline.sync.figures import SyncFailedError
from p88_pipeline_tests.reliability.support import (
    assert_equals_truth,
    future_event_ids,
    sync,
    watermarks,
)

SLUG = "bravo"  # seed 10: two future RunSignUp races


def warehouse_state(engine: sa.Engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(sa.text(query)).all()
            for query in (
                "SELECT event_id, participant_id, modified_at, removed_at, removed_reason, "
                "raw::text FROM participants ORDER BY 1, 2",
                "SELECT event_id, watermark, last_sync_type FROM sync_watermarks ORDER BY 1",
                "SELECT count(*) FROM rejected_records",
            )
        )


def test_a_read_with_every_changed_row_rejected_fails_and_writes_nothing(engine, sandbox) -> None:
    sync(engine, sandbox, SLUG)
    before = warehouse_state(engine)
    sandbox.world.advance(timedelta(hours=1))
    event_id = future_event_ids(sandbox, SLUG)[0]
    for _, pid in sandbox.world.truth("runsignup", SLUG, [event_id]):
        try:  # an impossible date of birth: every changed record of the event is unreadable
            sandbox.world.modify_participant("runsignup", event_id, pid, dob="1990-02-30")
        except ValueError:
            continue  # removed registrations cannot change
    with pytest.raises(SyncFailedError) as failed:
        sync(engine, sandbox, SLUG)
    message = str(failed.value)
    assert f"partner {SLUG} event {event_id}: " in message and "rows rejected" in message
    assert "impossible or unrecognised date" in message
    race = next(
        e["race_id"]
        for e in sandbox.world.events("runsignup", SLUG)
        if str(e["event_id"]) == event_id
    )
    [error] = [e["error"] for e in failed.value.figures.errors]
    assert re.fullmatch(
        f"SuspiciousReadError: runsignup partner {SLUG} event {event_id}: (\\d+) of \\1 rows "
        "rejected \\(first: impossible or unrecognised date '1990-02-30'\\); nothing of race "
        f"{race} was written \\(rule 8: a read that stores nothing of what the provider "
        "returned is a failure\\)",
        error,
    ), error
    race_of = {str(e["event_id"]): e["race_id"] for e in sandbox.world.events("runsignup", SLUG)}
    after = warehouse_state(engine)
    # The failing race: nothing written, watermark kept. The other race synced.
    failed_events = {e for e, r in race_of.items() if r == race_of[event_id]}
    assert [r for r in after[0] if r.event_id in failed_events] == [
        r for r in before[0] if r.event_id in failed_events
    ]
    assert after[2] == before[2]  # not even quarantined: the whole group rolled back
    marks_before, marks_after = dict((r[0], r) for r in before[1]), watermarks(engine)
    for event in set(marks_before) & failed_events:
        assert marks_after[event][0] == marks_before[event][1]
    assert any(marks_after[e][0] > marks_before[e][1] for e in set(marks_before) - failed_events)


@pytest.mark.parametrize(
    ("provider", "slug", "cap"),
    [
        ("runsignup", "bravo", "max_results_per_page"),
        ("haku", "alpha", "max_per_page"),
    ],
)
def test_a_silently_capped_full_read_does_not_soft_delete_the_rest(
    engine, sandbox, provider, slug, cap
) -> None:
    sync(engine, sandbox, slug, provider)
    before = warehouse_state(engine)
    # The server now returns at most 5 rows a page whatever is asked, without saying so: a full
    # read looks complete after one short page and would soft-delete everything else.
    sandbox.server.config.set(provider, **{cap: 5})
    with pytest.raises(SyncFailedError, match="would soft-delete"):
        sync(engine, sandbox, slug, provider, policy=plan.SyncPolicy(force_full=True))
    assert warehouse_state(engine) == before
    sandbox.server.config.set(provider, **{cap: 2500})
    sync(engine, sandbox, slug, provider, policy=plan.SyncPolicy(force_full=True))
    assert_equals_truth(engine, sandbox, slug, provider)
