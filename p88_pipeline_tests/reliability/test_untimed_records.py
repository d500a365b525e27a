"""Rule 8: Haku list rows without updated_at are registrations, not rejects. Their events are read
whole and compared with what is stored (full_compare): only what changed is written, what
vanished or was cancelled is soft-deleted, with one warning per run."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from p88_pipeline.sync import plan
from p88_pipeline_tests.reliability.support import (
    assert_equals_truth,
    future_event_ids,
    sync,
    watermarks,
)

SLUG = "alpha"  # seed 10: two future Haku events
PROVIDER = "haku"


def untimed_rows(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    "SELECT count(*) FILTER (WHERE modified_at IS NULL), count(*) "
                    "FROM participants WHERE provider = 'haku'"
                )
            ).one()
        )


def compare_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "read whole and compared" in r.getMessage()]


def test_rows_without_updated_at_are_stored_and_their_events_compared_whole(
    engine, sandbox, caplog
) -> None:
    sandbox.server.config.set(PROVIDER, rows_without_updated_at=True)
    first = sync(engine, sandbox, SLUG, PROVIDER)
    events = set(future_event_ids(sandbox, SLUG, PROVIDER))
    assert first.participants_rejected == 0
    assert set(first.sync_types.values()) == {plan.FULL_COMPARE}
    untimed, total = untimed_rows(engine)
    assert untimed == total > 0
    assert_equals_truth(engine, sandbox, SLUG, PROVIDER)

    # A day of changes: new, modified and cancelled registrations. Each event is read whole
    # (no early stop is possible) and only what changed is written.
    sandbox.world.advance(timedelta(days=1))
    caplog.clear()
    sandbox.server.reset_log()
    with caplog.at_level(logging.WARNING, logger="p88.sync"):
        second = sync(engine, sandbox, SLUG, PROVIDER)
    # Planned as full_compare from what the last read learned: no incremental attempt first.
    pages = [
        (r.path, r.params["page"]) for r in sandbox.server.log if r.path.endswith("/participants")
    ]
    assert pages and len(pages) == len(set(pages))
    assert second.sync_types == {e: plan.FULL_COMPARE for e in events}
    assert {e: t for e, (_, t) in watermarks(engine, PROVIDER).items()} == {
        e: plan.FULL_COMPARE for e in events
    }
    assert_equals_truth(engine, sandbox, SLUG, PROVIDER)
    assert 0 < second.participants_upserted < total / 3
    assert second.participants_removed > 0
    assert len(compare_warnings(caplog)) == 1  # one warning per run, not per row

    # Nothing changed: nothing written.
    third = sync(engine, sandbox, SLUG, PROVIDER)
    assert third.participants_upserted == third.participants_removed == 0


def test_an_incremental_read_meeting_untimed_rows_is_redone_whole(engine, sandbox, caplog) -> None:
    sync(engine, sandbox, SLUG, PROVIDER)  # timed rows: full, then incremental
    sandbox.world.advance(timedelta(days=1))
    # the provider stops sending times
    sandbox.server.config.set(PROVIDER, rows_without_updated_at=True)
    with caplog.at_level(logging.INFO, logger="p88.sync"):
        figures = sync(engine, sandbox, SLUG, PROVIDER)
    assert set(figures.sync_types.values()) == {plan.FULL_COMPARE}
    # The operator's log says why each event was read whole.
    assert "full_compare sync (records without modification time)" in caplog.text
    assert_equals_truth(engine, sandbox, SLUG, PROVIDER)
    # Times come back: the events return to incremental syncs after one full read.
    sandbox.server.config.set(PROVIDER, rows_without_updated_at=False)
    sandbox.world.advance(timedelta(hours=2))
    assert set(sync(engine, sandbox, SLUG, PROVIDER).sync_types.values()) == {plan.FULL}
    sandbox.world.advance(timedelta(hours=2))
    assert set(sync(engine, sandbox, SLUG, PROVIDER).sync_types.values()) == {plan.INCREMENTAL}
    assert_equals_truth(engine, sandbox, SLUG, PROVIDER)
