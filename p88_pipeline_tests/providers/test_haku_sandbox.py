"""HakuClient against the project's sandbox world: the warehouse equals the sandbox's truth after a
full and an incremental run, and the incremental run spends only the calls the data needs."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from p88_pipeline.sync import plan
from p88_pipeline_tests.helpers import Sandbox, run_sync, watermarks
from p88_sandbox.truth import compare_with_truth

SLUG = "alpha"  # RunSignUp and Haku


def assert_equals_truth(engine: sa.Engine, sandbox: Sandbox) -> None:
    partner = sandbox.partner(SLUG)
    result = compare_with_truth(
        engine, sandbox.world, "haku", partner.id, SLUG, sandbox.world.clock.now()
    )
    assert result.mismatches == 0, str(result)
    assert result.active > 0


def test_full_then_incremental_equals_the_sandbox_truth(engine, sandbox) -> None:
    first = run_sync(engine, sandbox, SLUG, provider="haku")
    assert set(first.sync_types.values()) == {plan.FULL}
    assert_equals_truth(engine, sandbox)

    sandbox.world.advance(timedelta(days=1))  # new, modified and cancelled registrations
    sandbox.server.reset_log()
    second = run_sync(engine, sandbox, SLUG, provider="haku")
    assert set(second.sync_types.values()) == {plan.INCREMENTAL}
    assert_equals_truth(engine, sandbox)
    assert 0 < second.participants_upserted < first.participants_upserted
    assert {t for _, t in watermarks(engine, "haku").values()} == {plan.INCREMENTAL}
    # Per event: the pages holding its changes, plus at most the one page that shows the stop.
    pages = [r for r in sandbox.server.log if r.path.endswith("/participants")]
    assert len(pages) <= 2 * len(second.sync_types)
