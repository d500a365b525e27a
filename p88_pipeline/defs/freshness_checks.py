"""`race_day_fresh` on each provider's participants, per partner: fails (ERROR) when an event
starting within 48 h (grace included) is more than twice its freshness target behind (rule 7).
Race-day data is what timing companies print bibs and start lists from: a stale one must be red,
not a warning among warnings. Events never synced are `future_events_fresh`'s business."""

import dagster as dg

from p88_pipeline.defs.checks import FRESHNESS_FACTOR, partner_check
from p88_pipeline.defs.freshness_events import event_lags
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.sync.freshness_plan import NEAR


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
