"""Asset checks on `<provider>/participants`: unique keys, events that exist, fresh watermarks.

Partition-aware checks (`@asset_check(partitions_def=...)`, a preview feature in Dagster 1.13):
each evaluation belongs to one timing partner, so the UI shows a check's status per partner and a
partner's failure never paints another partner red. The check looks at that partner's rows only
(cheap, and the result speaks about what the run wrote). The queries live in
warehouse/participant_checks.py.
"""

import warnings
from collections.abc import Callable
from typing import Any

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.warehouse.db import get_engine
from p88_pipeline.warehouse.migrations import SchemaError, missing_unique_keys
from p88_pipeline.warehouse.participant_checks import (
    duplicate_keys,
    lagging_future_events,
    orphan_participants,
)

FRESHNESS_FACTOR = 2  # a future event may lag up to twice its partner's longest target


def _engine(warehouse: WarehouseResource) -> sa.Engine:
    """The warehouse engine, even when its schema lacks a UNIQUE key: that is what we report."""
    try:
        return warehouse.get_engine()
    except SchemaError:
        return get_engine(warehouse.url())


def _sample(rows: list[sa.Row], *columns: str) -> dg.MetadataValue:
    return dg.MetadataValue.json([{c: str(getattr(r, c)) for c in columns} for r in rows])


def partner_check(**kwargs: Any) -> Callable[[Callable], dg.AssetChecksDefinition]:
    """`@asset_check` on the partner partitions, without Dagster's preview warning in the
    output of every command that loads the definitions."""

    def decorate(fn: Callable) -> dg.AssetChecksDefinition:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.PreviewWarning)
            return dg.asset_check(partitions_def=timing_partner_partitions, **kwargs)(fn)

    return decorate


def _partner(context: dg.AssetCheckExecutionContext, partners: PartnersResource) -> Partner:
    return partners.get(context.partition_key)


def build_participant_checks(provider: str) -> list[dg.AssetChecksDefinition]:
    """The three checks on `<provider>/participants`, one evaluation per partner."""
    asset_key = dg.AssetKey([provider, "participants"])

    @partner_check(
        asset=asset_key,
        name="unique_participant_keys",
        blocking=True,
        description="No two rows of this partner share (provider, event_id, participant_id).",
    )
    def unique_keys(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
    ) -> dg.AssetCheckResult:
        partner = _partner(context, partners)
        engine = _engine(warehouse)
        rows = duplicate_keys(engine, provider, partner.id)
        missing = [m for m in missing_unique_keys(engine) if m.startswith("participants ")]
        return dg.AssetCheckResult(
            passed=not rows,
            metadata={
                "partner": partner.slug,
                "duplicate_keys": int(rows[0].duplicate_keys) if rows else 0,
                "unique_constraint_present": not missing,
                "sample": _sample(rows, "event_id", "participant_id", "copies"),
            },
        )

    @partner_check(
        asset=asset_key,
        name="events_exist",
        description="Every participant of this partner has its event in provider_events.",
    )
    def events_exist(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
    ) -> dg.AssetCheckResult:
        partner = _partner(context, partners)
        rows = orphan_participants(_engine(warehouse), provider, partner.id)
        return dg.AssetCheckResult(
            passed=not rows,
            metadata={
                "partner": partner.slug,
                "orphan_participants": int(rows[0].orphans) if rows else 0,
                "orphan_events": len(rows),
                "sample": _sample(rows, "event_id", "participants"),
            },
        )

    @partner_check(
        asset=asset_key,
        name="future_events_fresh",
        description=f"No future event's watermark (or, never synced, its discovery) is older than "
        f"{FRESHNESS_FACTOR}x the partner's longest freshness target (rule 7; 6 h by default).",
    )
    def future_events_fresh(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
        sync_settings: SyncSettingsResource,
    ) -> dg.AssetCheckResult:
        partner = _partner(context, partners)
        if not partner.active:
            return dg.AssetCheckResult(
                passed=True, metadata={"partner": partner.slug, "skipped": "inactive partner"}
            )
        now, cutoff = sync_settings.now_and_cutoff()
        max_age = FRESHNESS_FACTOR * partner.targets.longest
        rows = lagging_future_events(
            _engine(warehouse),
            provider,
            now,
            cutoff,
            {partner.id: int(max_age.total_seconds())},
        )
        return dg.AssetCheckResult(
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "partner": partner.slug,
                "lagging_future_events": int(rows[0].lagging) if rows else 0,
                "sample": _sample(rows, "event_id", "watermark", "first_seen_at"),
            },
        )

    return [unique_keys, events_exist, future_events_fresh]
