"""`p88 status`: how fresh each partner's data is (rule 7), per provider: future events by
proximity band with their lag against target, calls spent this hour against the quota, and the
last run with its outcome. Read-only: no API call, no Dagster."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from p88_pipeline.config.partners import Partner, load_partners
from p88_pipeline.freshness.inputs import gather
from p88_pipeline.freshness.plan import BANDS, judge
from p88_pipeline.freshness.readings import last_runs
from p88_pipeline.settings import load_settings
from p88_pipeline.sync.plan import SyncPolicy, future_cutoff
from p88_pipeline.warehouse.db import get_engine, resolve_database_url
from p88_pipeline.warehouse.migrations import prepare_warehouse


def _minutes(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 60, 1)


def partner_status(
    engine: sa.Engine, partners: list[Partner], now: datetime, grace: timedelta
) -> list[dict[str, Any]]:
    """One entry per partner and provider account, as `--json` prints it."""
    inputs = gather(engine, partners, now, future_cutoff(now, grace))
    last = last_runs(engine, [p.id for p in partners])
    out = []
    for partner in partners:
        targets = partner.targets
        mine = inputs[partner.id]
        spent = mine.spent(now)
        for provider, account in sorted(partner.accounts.items()):
            judged = judge([e for e in mine.events if e.provider == provider], now, targets)
            bands = {}
            for band in BANDS:
                these = [j for j in judged if j.band == band]
                lags = [j.lag for j in these if j.lag is not None]
                bands[targets.label(band)] = {
                    "events": len(these),
                    "target_min": _minutes(targets.target(band)),
                    "max_lag_min": _minutes(max(lags)) if lags else None,
                    "behind_target": sum(1 for lag in lags if lag > targets.target(band)),
                    "never_synced": len(these) - len(lags),
                }
            run = last.get((partner.id, provider))
            out.append(
                {
                    "partner": partner.slug,
                    "provider": provider,
                    "active": partner.active,
                    "bands": bands,
                    "calls_this_hour": spent.get(provider, 0),
                    "quota_per_hour": account.quota_per_hour,
                    "budget_per_hour": int(account.quota_per_hour * targets.quota_share),
                    "last_run": None
                    if run is None
                    else {
                        "started_at": run.started_at.isoformat(),
                        "status": run.status,
                        "api_calls": run.api_calls,
                        "events_synced": run.events_synced,
                    },
                }
            )
    return out


def counted(n: int, noun: str, width: int = 0) -> str:
    """A count a person reads: 1 event, 12 events (right-aligned in `width`)."""
    return f"{n:>{width}} {noun}{'' if n == 1 else 's'}"


def render(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        run = r["last_run"]
        last = (
            f"last run {run['started_at'][:16]} {run['status']} ({run['api_calls']} calls, "
            f"{counted(run['events_synced'], 'event')})"
            if run
            else "never run"
        )
        lines.append(
            f"{r['partner']} {r['provider']}{'' if r['active'] else ' (inactive)'}: "
            f"{r['calls_this_hour']}/{r['quota_per_hour']} calls this hour "
            f"(budget {r['budget_per_hour']}), {last}"
        )
        for label, b in r["bands"].items():
            lag = "-" if b["max_lag_min"] is None else f"{b['max_lag_min']:.0f} min"
            never = f", {b['never_synced']} never synced" if b["never_synced"] else ""
            lines.append(
                f"  {label:<16} {counted(b['events'], 'event', 4):<11} max lag {lag:>9}  target "
                f"{b['target_min']:.0f} min  {b['behind_target']} behind target{never}"
            )
    return "\n".join(lines)


def status_command(as_json: bool, as_of: str | None = None) -> int:
    settings = load_settings()
    partners = load_partners(settings.partners_file)
    engine = get_engine(resolve_database_url(settings))
    prepare_warehouse(engine)
    now = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    rows = partner_status(engine, partners, now, SyncPolicy.grace)
    print(json.dumps(rows, indent=2) if as_json else render(rows))
    return 0
