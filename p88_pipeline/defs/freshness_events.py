"""Rule 7 in Dagster terms: a due run's config, the observation that says which freshness targets
the quota budget made the sensor miss (by how much), and each event's lag as metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.partners import Partner
from p88_pipeline.sync.freshness_inputs import gather
from p88_pipeline.sync.freshness_plan import NEAR, EventFreshness, judge
from p88_pipeline.sync.stale_watermarks_plan import PartnerDecision

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
