"""The asset chain `<provider>/events -> future_events -> participants`, built by one factory so
every provider gets the same shape, partitions and metadata without copy-paste."""

from datetime import UTC, datetime

import dagster as dg

from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.partners import Partner
from p88_pipeline.providers.build import build_client
from p88_pipeline.sync.engine import select_future, sync_events, sync_participants
from p88_pipeline.sync.figures import SyncFailedError, SyncFigures
from p88_pipeline.warehouse.runs import calls_in_last_hour, record_run


def _skip_reason(partner: Partner, provider: str) -> str | None:
    if not partner.active:
        return f"partner {partner.slug} is inactive"
    if partner.account(provider) is None:
        return f"partner {partner.slug} has no {provider} account"
    return None


def _skipped(context: dg.AssetExecutionContext, reason: str) -> dg.MaterializeResult:
    context.log.info(f"skipped: {reason}")
    return dg.MaterializeResult(metadata={"skipped": reason, "api_calls": 0})


def _client(engine, partner: Partner, provider: str):
    """A client whose call budget already counts this partner's calls of the past hour."""
    spent = calls_in_last_hour(engine, provider, partner.id)
    return build_client(partner, provider, spent_last_hour=spent)


def _metadata(figures: SyncFigures) -> dict:
    meta: dict = {
        "events_total": figures.events_total,
        "events_future": figures.events_future,
        "events_synced": figures.events_synced,
        "participants_upserted": figures.participants_upserted,
        "participants_removed": figures.participants_removed,
        "participants_rejected": figures.participants_rejected,
        "api_calls": figures.api_calls,
        "duration_s": figures.duration_s,
        "status": figures.status,
    }
    for sync_type, count in figures.type_counts.items():
        meta[f"events_{sync_type}"] = count
    if figures.errors:
        meta["errors"] = dg.MetadataValue.json(figures.errors)
    return meta


def build_provider_assets(provider: str) -> list[dg.AssetsDefinition]:
    common = dict(
        key_prefix=[provider],
        group_name=provider,
        partitions_def=timing_partner_partitions,
        kinds={"postgres", "python"},
    )

    @dg.asset(
        name="events",
        pool=f"{provider}_api",
        description=f"Every {provider} event of the partner, upserted into provider_events.",
        **common,
    )
    def events(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
    ) -> dg.MaterializeResult:
        partner = partners.get(context.partition_key)
        if reason := _skip_reason(partner, provider):
            return _skipped(context, reason)
        engine = warehouse.get_engine()
        figures = sync_events(engine, _client(engine, partner, provider), partner)
        record_run(
            engine,
            context.run.run_id,
            provider,
            partner.id,
            events_total=figures.events_total,
            api_calls=figures.api_calls,
        )
        return dg.MaterializeResult(
            metadata={"events_total": figures.events_total, "api_calls": figures.api_calls}
        )

    @dg.asset(
        name="future_events",
        deps=[events.key],
        description="Events still to come in their race's time zone (grace window). No API calls.",
        **common,
    )
    def future_events(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
        sync_settings: SyncSettingsResource,
    ) -> dg.MaterializeResult:
        partner = partners.get(context.partition_key)
        if reason := _skip_reason(partner, provider):
            return _skipped(context, reason)
        engine = warehouse.get_engine()
        total, future = select_future(
            engine, provider, partner, sync_settings.clock()(), sync_settings.policy()
        )
        record_run(
            engine,
            context.run.run_id,
            provider,
            partner.id,
            events_total=total,
            events_future=len(future),
        )
        return dg.MaterializeResult(
            metadata={
                "events_total": total,
                "events_future": len(future),
                "future_event_ids": ", ".join(e.event_id for e in future)[:2000],
            }
        )

    @dg.asset(
        name="participants",
        deps=[future_events.key],
        pool=f"{provider}_api",
        description="Registrations of future events: upserted, soft-deleted, watermarked "
        "in one transaction per race.",
        **common,
    )
    def participants(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
        sync_settings: SyncSettingsResource,
    ) -> dg.MaterializeResult:
        partner = partners.get(context.partition_key)
        if reason := _skip_reason(partner, provider):
            return _skipped(context, reason)
        engine = warehouse.get_engine()
        clock, policy = sync_settings.clock(), sync_settings.policy()
        _, future = select_future(engine, provider, partner, clock(), policy, announce=False)
        client = _client(engine, partner, provider)
        try:
            figures = sync_participants(engine, client, partner, future, policy, clock)
        except SyncFailedError as exc:
            _record(engine, context.run.run_id, partner, exc.figures)
            raise
        _record(engine, context.run.run_id, partner, figures)
        return dg.MaterializeResult(metadata=_metadata(figures))

    return [events, future_events, participants]


def _record(engine, run_id: str, partner: Partner, figures: SyncFigures) -> None:
    record_run(
        engine,
        run_id,
        figures.provider,
        partner.id,
        finished_at=datetime.now(UTC),
        status=figures.status,
        events_future=figures.events_future,
        events_synced=figures.events_synced,
        sync_types=figures.sync_types,
        participants_upserted=figures.participants_upserted,
        participants_removed=figures.participants_removed,
        participants_rejected=figures.participants_rejected,
        api_calls=figures.api_calls,
        duration_s=figures.duration_s,
        errors=figures.errors,
    )
