"""What the race-week simulation measures: lag per band against targets, calls per account and
hour, the busiest rolling hour from the sandbox's own request log, and what the old whole-partner
sync would have spent for the same lag."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from p88_pipeline.config.partners import Partner

HOUR = timedelta(hours=1)
TOKEN_PATH = "/oauth2/token"  # Haku's auth host: not an API call, not in the quota


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted `values` (0 when empty)."""
    if not values:
        return 0.0
    rank = max(0, min(len(values) - 1, round(q / 100 * len(values) + 0.5) - 1))
    return values[rank]


def busiest_hour(times: Iterable[datetime]) -> int:
    """The most calls inside any rolling hour (a window starting at each call)."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - HOUR:
            start += 1
        best = max(best, end - start + 1)
    return best


def api_calls(log: Iterable[Any]) -> list[Any]:
    """Quota-counted calls of the request log: authenticated API calls, not token requests."""
    return [r for r in log if r.partner_slug and TOKEN_PATH not in r.path and r.fault != "quota"]


@dataclass
class RaceWeekReport:
    days: float
    scale: str
    seed: int
    targets_min: dict[str, float] = field(default_factory=dict)  # band label -> target
    lags: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    near_over: list[dict[str, Any]] = field(default_factory=list)  # near-band target misses
    budget_misses: Counter = field(default_factory=Counter)  # band -> due event-minutes left out
    busiest: dict[str, int] = field(default_factory=dict)  # "provider partner" -> calls
    quotas: dict[str, int] = field(default_factory=dict)
    calls_per_hour: dict[str, float] = field(default_factory=dict)  # partner -> mean
    calls_total: int = 0
    old_hourly: int = 0  # whole-partner incremental sync every hour (lag up to 60 min)
    old_same_lag: int = 0  # whole partner every near target while it has a race-day event
    runs: int = 0
    list_reads: int = 0
    failed_runs: int = 0
    mismatches: int = 0
    duration_s: float = 0.0

    @property
    def over_quota(self) -> list[str]:
        return [k for k, n in self.busiest.items() if n > self.quotas[k]]

    @property
    def ok(self) -> bool:
        return not self.near_over and not self.over_quota and self.mismatches == 0

    def lag_table(self) -> dict[str, dict[str, float]]:
        table = {}
        for band, values in self.lags.items():
            ordered = sorted(values)
            table[band] = {
                "target_min": self.targets_min[band],
                "samples": len(ordered),
                "p50_min": round(percentile(ordered, 50), 1),
                "p95_min": round(percentile(ordered, 95), 1),
                "max_min": round(ordered[-1], 1) if ordered else 0.0,
            }
        return table

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "scale": self.scale,
            "seed": self.seed,
            "ok": self.ok,
            "lag_by_band": self.lag_table(),
            "race_day_target_misses": self.near_over[:20],
            "over_budget_event_minutes": dict(self.budget_misses),
            "busiest_rolling_hour": self.busiest,
            "quota_per_hour": self.quotas,
            "mean_calls_per_partner_hour": self.calls_per_hour,
            "calls_total": self.calls_total,
            "old_hourly_whole_partner_calls": self.old_hourly,
            "old_whole_partner_same_lag_calls": self.old_same_lag,
            "runs": self.runs,
            "events_list_reads": self.list_reads,
            "failed_runs": self.failed_runs,
            "mismatches": self.mismatches,
            "duration_s": self.duration_s,
        }

    def summary(self) -> str:
        lines = [
            f"p88 soak --race-week: {self.days:g} days, scale {self.scale}, seed {self.seed}: "
            f"{'PASS' if self.ok else 'FAIL'} in {self.duration_s:.1f}s; {self.runs} due runs "
            f"({self.list_reads} events-list reads, {self.failed_runs} failed), "
            f"{self.mismatches} mismatches with the truth at the end",
            "lag by proximity band (sampled every simulated minute, every future event):",
        ]
        for band, row in self.lag_table().items():
            lines.append(
                f"  {band:<15} target {row['target_min']:>5.0f} min  p50 {row['p50_min']:>6.1f}  "
                f"p95 {row['p95_min']:>6.1f}  max {row['max_min']:>6.1f}  "
                f"({row['samples']} samples)"
            )
        lines.append(
            f"race-day events over target: {len(self.near_over)}; accounts over quota in any "
            f"rolling hour: {len(self.over_quota)}; due events left out by the budget "
            f"(event-minutes): {dict(self.budget_misses) or 'none'}"
        )
        for account, n in sorted(self.busiest.items()):
            lines.append(f"  {account:<22} busiest hour {n:>4} / {self.quotas[account]} calls")
        mean = Counter(self.calls_per_hour)
        lines.append(
            "mean calls per partner-hour: "
            + ", ".join(f"{p} {v:.1f}" for p, v in sorted(mean.items()))
        )
        lines.append(
            f"calls: {self.calls_total} (p88, due runs and nightly runs); the old whole-partner "
            f"sync: {self.old_hourly} hourly (60-min lag), {self.old_same_lag} for the same "
            "race-day lag (every partner with a race within 48 h synced whole every 10 min)"
        )
        return "\n".join(lines)


def quota_figures(
    report: RaceWeekReport, partners: list[Partner], calls: list[Any], days: float
) -> None:
    """Calls per account from the request log: busiest rolling hour, mean per partner-hour."""
    report.calls_total = len(calls)
    for partner in partners:
        for provider, account in partner.accounts.items():
            key = f"{provider} {partner.slug}"
            mine = [
                r.time for r in calls if r.provider == provider and r.partner_slug == partner.slug
            ]
            report.busiest[key] = busiest_hour(mine)
            report.quotas[key] = account.quota_per_hour
        hours = max(1.0, days * 24)
        report.calls_per_hour[partner.slug] = round(
            sum(1 for r in calls if r.partner_slug == partner.slug) / hours, 1
        )
