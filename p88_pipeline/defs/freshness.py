"""Rule 7 in Dagster terms: a due run's config, the observation that says which freshness targets
the quota budget made the sensor miss (by how much), each event's lag as metadata, and
`race_day_fresh`: an ERROR when an event starting within 48 h (grace included) is more than twice
its freshness target behind. Race-day data is what timing companies print bibs and start lists
from: a stale one must be red, not a warning among warnings. Events never synced are
`future_events_fresh`'s business."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.defs.checks import FRESHNESS_FACTOR, partner_check
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.freshness.due_runs import PartnerDecision
from p88_pipeline.freshness.inputs import gather
from p88_pipeline.freshness.plan import NEAR, EventFreshness, judge

LAGS_LISTED = 200  # events listed in the lag metadata, nearest first


def due_run_config(decision: PartnerDecision, partner: Partner) -> dict[str, Any]:
    """A due run syncs the named events and reuses an events list younger than the longest
    target; a whole run (no events stored yet) has no config, as before."""
    if decision.due_events is None:
        return {}
    settings = {
        "due_events": list(decision.due_events),
        "events_list_max_age_minutes": partner.targets.longest.total_seconds() / 60,
    }
    return {"resources": {"sync_settings": {"config": settings}}}


def missed_targets_observations(
    decisions: Sequence[PartnerDecision], partners: Mapping[str, Partner]
) -> list[dg.AssetObservation]:
    """One observation per partner and provider whose due events did not fit the budget, on
    that provider's participants partition of the partner."""
    observations = []
    for d in decisions:
        if d.plan is None or not d.plan.missed:
            continue
        targets = partners[d.slug].targets
        for provider in sorted({j.event.provider for j in d.plan.missed}):
            missed = [j for j in d.plan.missed if j.event.provider == provider]
            observations.append(
                dg.AssetObservation(
                    asset_key=dg.AssetKey([provider, "participants"]),
                    partition=d.slug,
                    metadata={
                        "partner": d.slug,
                        "missed_targets": len(missed),
                        "budget_calls": float(d.plan.budget.get(provider, 0)),
                        "planned_calls": float(d.plan.calls.get(provider, 0)),
                        "missed": dg.MetadataValue.json(
                            [
                                {
                                    "event_id": j.event.event_id,
                                    "band": targets.label(j.band),
                                    "target_min": j.target.total_seconds() / 60,
                                    "lag_min": None
                                    if j.lag is None
                                    else round(j.lag.total_seconds() / 60, 1),
                                    "over_by_min": None
                                    if j.over_by is None
                                    else round(j.over_by.total_seconds() / 60, 1),
                                }
                                for j in missed
                            ]
                        ),
                    },
                )
            )
    return observations


def event_lags(
    engine: sa.Engine, partner: Partner, provider: str, now: datetime, cutoff: datetime
) -> list[EventFreshness]:
    """The partner's future events on `provider`, judged at `now` (nearest first)."""
    inputs = gather(engine, [partner], now, cutoff)[partner.id]
    mine = [e for e in inputs.events if e.provider == provider]
    return judge(mine, now, partner.targets)


def lag_metadata(judged: Sequence[EventFreshness], partner: Partner) -> dict[str, Any]:
    """Per event: lag (now - watermark) against its target, for the partition's metadata."""
    targets = partner.targets
    near = [j.lag for j in judged if j.band == NEAR and j.lag is not None]
    return {
        "freshness_lag": dg.MetadataValue.json(
            {
                j.event.event_id: {
                    "band": targets.label(j.band),
                    "lag_min": None if j.lag is None else round(j.lag.total_seconds() / 60, 1),
                    "target_min": j.target.total_seconds() / 60,
                }
                for j in judged[:LAGS_LISTED]
            }
        ),
        "max_lag_min_within_48h": round(max(near).total_seconds() / 60, 1) if near else 0.0,
    }


def build_freshness_check(provider: str) -> dg.AssetChecksDefinition:
    @partner_check(
        asset=dg.AssetKey([provider, "participants"]),
        name="race_day_fresh",
        description=f"No event starting within 48 h is more than {FRESHNESS_FACTOR}x its "
        "freshness target behind (10 min by default, so 20 min).",
    )
    def race_day_fresh(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
        sync_settings: SyncSettingsResource,
    ) -> dg.AssetCheckResult:
        partner = partners.get(context.partition_key)
        now, cutoff = sync_settings.now_and_cutoff()
        near = [
            j
            for j in event_lags(warehouse.get_engine(), partner, provider, now, cutoff)
            if j.band == NEAR and j.lag is not None
        ]
        late = [j for j in near if j.lag > FRESHNESS_FACTOR * j.target]
        return dg.AssetCheckResult(
            passed=not late or not partner.active,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "partner": partner.slug,
                "events_within_48h": len(near),
                "late_events": len(late),
                "late": dg.MetadataValue.json(
                    [
                        {
                            "event_id": j.event.event_id,
                            "lag_min": round(j.lag.total_seconds() / 60, 1),
                            "target_min": j.target.total_seconds() / 60,
                        }
                        for j in late[:20]
                        if j.lag is not None
                    ]
                ),
            },
        )

    return race_day_fresh
