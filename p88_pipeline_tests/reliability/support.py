"""Shared steps of the reliability tests: one sync as the assets run it, truth checks, snapshots."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.providers.http import RetryPolicy
from p88_pipeline.sync.figures import SyncFigures
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline_tests.helpers import FAST_RETRY, Sandbox, run_sync
from p88_sandbox.truth import compare_with_truth, future_truth_events

# (provider, partner): every account of the seed-10 world that has future events.
ACCOUNTS = [("runsignup", "bravo"), ("haku", "alpha")]


def sync(
    engine: sa.Engine,
    sandbox: Sandbox,
    slug: str,
    provider: str = "runsignup",
    *,
    policy: SyncPolicy | None = None,
    retry: RetryPolicy = FAST_RETRY,
    page_size: int | None = None,
    partner: Partner | None = None,
) -> SyncFigures:
    """One sync with a chosen retry policy and page size (see helpers.run_sync)."""
    partner = partner or with_page_size(sandbox.partner(slug), provider, page_size)
    return run_sync(engine, sandbox, slug, policy, provider=provider, partner=partner, retry=retry)


def with_page_size(partner: Partner, provider: str, page_size: int | None) -> Partner:
    if page_size is None:
        return partner
    account = dataclasses.replace(partner.accounts[provider], page_size=page_size)
    return dataclasses.replace(partner, accounts={**partner.accounts, provider: account})


def assert_equals_truth(
    engine: sa.Engine, sandbox: Sandbox, slug: str, provider: str = "runsignup"
) -> None:
    partner = sandbox.partner(slug)
    result = compare_with_truth(
        engine, sandbox.world, provider, partner.id, slug, sandbox.world.clock.now()
    )
    assert result.mismatches == 0, str(result)
    assert result.active > 0
    assert duplicates(engine) == 0


def future_event_ids(sandbox: Sandbox, slug: str, provider: str = "runsignup") -> list[str]:
    return future_truth_events(
        sandbox.world, provider, slug, sandbox.world.clock.now(), timedelta(days=1)
    )


def event_mismatches(
    engine: sa.Engine, sandbox: Sandbox, slug: str, provider: str, event_id: str
) -> int:
    """Records of one event that differ from the truth (missing, extra or stale)."""
    partner = sandbox.partner(slug)
    truth = sandbox.world.truth(provider, slug, [event_id])
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT participant_id, modified_at, removed_at IS NOT NULL AS removed, "
                "first_name, last_name, email, bib FROM participants WHERE provider = :p "
                "AND timing_partner_id = :t AND event_id = :e"
            ),
            {"p": provider, "t": partner.id, "e": event_id},
        ).all()
    stored = {r.participant_id: r for r in rows}
    bad = 0
    for (_, pid), t in truth.items():
        row = stored.pop(pid, None)
        if t.removed:
            bad += row is not None and not row.removed
        elif (
            row is None
            or row.removed
            or (row.modified_at, row.first_name, row.last_name, row.email, row.bib)
            != (t.modified_at, t.first_name, t.last_name, t.email, t.bib)
        ):
            bad += 1
    return bad + sum(1 for r in stored.values() if not r.removed)


def duplicates(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) - count(DISTINCT (provider, timing_partner_id, event_id, "
                "participant_id)) FROM participants"
            )
        ).scalar()


def watermarks(engine: sa.Engine, provider: str = "runsignup") -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT event_id, watermark, last_sync_type FROM sync_watermarks "
                "WHERE provider = :p"
            ),
            {"p": provider},
        )
        return {r.event_id: (r.watermark, r.last_sync_type) for r in rows}


def served_faults(sandbox: Sandbox, kind: str) -> int:
    """Calls the sandbox answered with fault `kind` (what the client really had to survive)."""
    return sum(1 for r in sandbox.server.log if r.fault == kind)


def snapshot(engine: sa.Engine, event_ids: list[str]) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT event_id, participant_id, modified_at, removed_at, first_name, "
                    "raw::text FROM participants WHERE event_id = ANY(:e) ORDER BY 1, 2"
                ),
                {"e": event_ids},
            )
        ]
