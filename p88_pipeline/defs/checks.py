"""Asset checks on `<provider>/participants`: unique keys, events that exist, fresh watermarks.

Built by a factory per provider, like the assets. In a partitioned run a check looks at that
run's partner only (cheap, and the result speaks about what the run wrote); executed on its own
from the UI it covers every partner.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.partners import Partner
from p88_pipeline.warehouse.db import get_engine, normalize_url, resolve_database_url
from p88_pipeline.warehouse.migrations import SchemaError, missing_unique_keys

SAMPLE = 20
FRESHNESS_FACTOR = 2  # a future event may lag up to twice its partner's sync interval


@dataclass(frozen=True)
class Scope:
    """Which partners a check covers: one (partitioned run) or all (None)."""

    partner_id: str | None
    label: str


def _scope(context: dg.AssetCheckExecutionContext, partners: PartnersResource) -> Scope:
    if context.has_partition_key:
        partner = partners.get(context.partition_key)
        return Scope(partner.id, partner.slug)
    return Scope(None, "all partners")


def _engine(warehouse: WarehouseResource) -> sa.Engine:
    """The warehouse engine, even when its schema lacks a UNIQUE key: that is what we report."""
    try:
        return warehouse.get_engine()
    except SchemaError:
        url = warehouse.database_url
        return get_engine(normalize_url(url) if url else resolve_database_url())


_PARTNER_FILTER = "(CAST(:partner AS text) IS NULL OR p.timing_partner_id = :partner)"

_DUPLICATES_SQL = sa.text(
    f"""
    SELECT p.timing_partner_id, p.event_id, p.participant_id, count(*) AS copies,
           count(*) OVER () AS duplicate_keys
    FROM participants p
    WHERE p.provider = :provider AND {_PARTNER_FILTER}
    GROUP BY p.timing_partner_id, p.event_id, p.participant_id
    HAVING count(*) > 1
    ORDER BY copies DESC LIMIT {SAMPLE}
    """
)

_ORPHANS_SQL = sa.text(
    f"""
    SELECT p.timing_partner_id, p.event_id, count(*) AS participants,
           sum(count(*)) OVER () AS orphans
    FROM participants p
    WHERE p.provider = :provider AND {_PARTNER_FILTER}
      AND NOT EXISTS (SELECT 1 FROM provider_events e WHERE e.provider = p.provider
                      AND e.timing_partner_id = p.timing_partner_id AND e.event_id = p.event_id)
    GROUP BY p.timing_partner_id, p.event_id
    ORDER BY participants DESC LIMIT {SAMPLE}
    """
)

# Future = no start time or a start after now minus grace (sync.plan.is_future). An event never
# synced counts from when we first saw it, so a just-discovered event is not flagged at once.
_LAGGING_SQL = sa.text(
    """
    SELECT e.timing_partner_id, e.event_id, w.watermark, e.first_seen_at,
           count(*) OVER () AS lagging
    FROM provider_events e
    JOIN unnest(CAST(:ids AS text[]), CAST(:max_age_s AS integer[])) AS t(id, max_age_s)
      ON t.id = e.timing_partner_id
    LEFT JOIN sync_watermarks w ON w.provider = e.provider
         AND w.timing_partner_id = e.timing_partner_id AND w.event_id = e.event_id
    WHERE e.provider = :provider
      AND (e.start_time IS NULL OR e.start_time > :cutoff)
      AND coalesce(w.watermark, e.first_seen_at) < :now - make_interval(secs => t.max_age_s)
    ORDER BY coalesce(w.watermark, e.first_seen_at) LIMIT 20
    """
)


def _rows(engine: sa.Engine, query: sa.TextClause, **params: object) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(query, params))


def _sample(rows: list[sa.Row], *columns: str) -> dg.MetadataValue:
    return dg.MetadataValue.json([{c: str(getattr(r, c)) for c in columns} for r in rows])


def _freshness_partners(scope: Scope, partners: PartnersResource) -> list[Partner]:
    configured = partners.load()
    if scope.partner_id is None:
        return [p for p in configured if p.active]
    return [p for p in configured if p.id == scope.partner_id and p.active]


def build_participant_checks(provider: str) -> list[dg.AssetChecksDefinition]:
    """The three checks on `<provider>/participants`."""
    asset_key = dg.AssetKey([provider, "participants"])

    @dg.asset_check(
        asset=asset_key,
        name="unique_participant_keys",
        blocking=True,
        description="No two rows share (provider, timing_partner_id, event_id, participant_id).",
    )
    def unique_keys(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
    ) -> dg.AssetCheckResult:
        scope = _scope(context, partners)
        engine = _engine(warehouse)
        rows = _rows(engine, _DUPLICATES_SQL, provider=provider, partner=scope.partner_id)
        missing = [m for m in missing_unique_keys(engine) if m.startswith("participants ")]
        return dg.AssetCheckResult(
            passed=not rows,
            metadata={
                "scope": scope.label,
                "duplicate_keys": int(rows[0].duplicate_keys) if rows else 0,
                "unique_constraint_present": not missing,
                "sample": _sample(
                    rows, "timing_partner_id", "event_id", "participant_id", "copies"
                ),
            },
        )

    @dg.asset_check(
        asset=asset_key,
        name="events_exist",
        description="Every participant's event is in provider_events (referential integrity).",
    )
    def events_exist(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
    ) -> dg.AssetCheckResult:
        scope = _scope(context, partners)
        rows = _rows(_engine(warehouse), _ORPHANS_SQL, provider=provider, partner=scope.partner_id)
        return dg.AssetCheckResult(
            passed=not rows,
            metadata={
                "scope": scope.label,
                "orphan_participants": int(rows[0].orphans) if rows else 0,
                "orphan_events": len(rows),
                "sample": _sample(rows, "timing_partner_id", "event_id", "participants"),
            },
        )

    @dg.asset_check(
        asset=asset_key,
        name="future_events_fresh",
        description=f"No future event's watermark (or, never synced, its discovery) is older than "
        f"{FRESHNESS_FACTOR}x its partner's sync_interval_minutes.",
    )
    def future_events_fresh(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
        sync_settings: SyncSettingsResource,
    ) -> dg.AssetCheckResult:
        scope = _scope(context, partners)
        covered = _freshness_partners(scope, partners)
        if not covered:
            return dg.AssetCheckResult(
                passed=True, metadata={"scope": scope.label, "skipped": "inactive partner"}
            )
        now: datetime = sync_settings.clock()()
        rows = _rows(
            _engine(warehouse),
            _LAGGING_SQL,
            provider=provider,
            now=now,
            cutoff=now - sync_settings.policy().grace,
            ids=[p.id for p in covered],
            max_age_s=[
                int(timedelta(minutes=FRESHNESS_FACTOR * p.sync_interval_minutes).total_seconds())
                for p in covered
            ],
        )
        return dg.AssetCheckResult(
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "scope": scope.label,
                "lagging_future_events": int(rows[0].lagging) if rows else 0,
                "sample": _sample(
                    rows, "timing_partner_id", "event_id", "watermark", "first_seen_at"
                ),
            },
        )

    return [unique_keys, events_exist, future_events_fresh]
