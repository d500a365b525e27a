"""The freshness plan's inputs for each partner, read from the warehouse in a few queries, and the
plan for one partner from them. Shared by the watermark sensor, `p88 status` and the race-week
simulation, so all three judge freshness the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.freshness.plan import (
    AccountState,
    CostModel,
    EventWatermark,
    FreshnessPlan,
    estimate_costs,
    plan_freshness,
)
from p88_pipeline.freshness.readings import (
    RunRow,
    future_event_watermarks,
    list_reads,
    recent_runs,
)

HOUR = timedelta(hours=1)
HISTORY = timedelta(days=1)  # runs read for spent calls and the cost estimate
COST_RUNS = 10  # the last this many finished runs per account estimate a run's calls


@dataclass
class PartnerInputs:
    events: list[EventWatermark] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)  # the last day's, oldest first
    list_reads: dict[str, tuple[datetime, int]] = field(default_factory=dict)  # per provider

    def spent(self, now: datetime) -> dict[str, int]:
        """Calls each account's runs spent in the hour before `now` (runs started in it)."""
        spent: dict[str, int] = {}
        for r in self.runs:
            if now - HOUR < r.started_at <= now:
                spent[r.provider] = spent.get(r.provider, 0) + r.api_calls
        return spent

    def costs(self) -> CostModel:
        finished = [r for r in self.runs if r.status != "running" and r.events_synced > 0]
        recent: list[tuple[str, int, int]] = []
        for provider in {r.provider for r in finished}:
            mine = [r for r in finished if r.provider == provider][-COST_RUNS:]
            recent += [(provider, r.api_calls, r.events_synced) for r in mine]
        return estimate_costs(recent, {p: calls for p, (_, calls) in self.list_reads.items()})

    def stale_lists(self, providers: Sequence[str], now: datetime, max_age: timedelta) -> list[str]:
        """Providers whose events list was never read (as far as we know) or is older than
        `max_age`: a due run re-reads those."""
        return [
            p
            for p in providers
            if p not in self.list_reads or now - self.list_reads[p][0] > max_age
        ]


def gather(
    engine: sa.Engine, partners: Sequence[Partner], now: datetime, cutoff: datetime
) -> dict[str, PartnerInputs]:
    """partner id -> inputs (every partner given gets an entry, empty when nothing is stored)."""
    ids = [p.id for p in partners]
    inputs = {pid: PartnerInputs() for pid in ids}
    if not ids:
        return inputs
    for row in future_event_watermarks(engine, ids, cutoff):
        inputs[row.timing_partner_id].events.append(
            EventWatermark(row.provider, row.event_id, row.race_id, row.start_time, row.watermark)
        )
    for run in recent_runs(engine, ids, now - HISTORY):
        inputs[run.timing_partner_id].runs.append(run)
    for (pid, provider), read in list_reads(engine, ids).items():
        inputs[pid].list_reads[provider] = read
    return inputs


def plan_partner(partner: Partner, inputs: PartnerInputs, now: datetime) -> FreshnessPlan:
    """The partner's freshness plan: its targets, its accounts' quotas, what they spent."""
    targets = partner.targets
    quotas = {p: a.quota_per_hour for p, a in partner.accounts.items()}
    events = [e for e in inputs.events if e.provider in quotas]
    accounts = AccountState(
        quotas, inputs.spent(now), inputs.stale_lists(sorted(quotas), now, targets.longest)
    )
    return plan_freshness(events, now, targets, accounts=accounts, costs=inputs.costs())


def reusable_list_age(
    engine: sa.Engine, provider: str, partner_id: str, now: datetime, max_age: timedelta | None
) -> timedelta | None:
    """How old the stored events list is when a due run may reuse it (younger than `max_age`);
    None when the run must read it (no max age given, never read, or too old)."""
    if max_age is None:
        return None
    read = list_reads(engine, [partner_id]).get((partner_id, provider))
    if read is None or now - read[0] > max_age:
        return None
    return now - read[0]
