"""The asset chain `<provider>/events -> future_events -> participants`, built by one factory so
every provider gets the same shape, partitions and metadata without copy-paste.

Outputs are optional: for a partner without an account on the provider, or an inactive one, the
assets yield nothing, so Dagster records no materialization (the partition stays "missing", never
a green "filled" for work that was not done) and skips the steps downstream.
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.defs.freshness import event_lags, lag_metadata
from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.freshness.inputs import reusable_list_age
from p88_pipeline.freshness.readings import note_list_read
from p88_pipeline.lib.redaction import env_values, redact_value
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.registry import spec_for
from p88_pipeline.sync import outcome
from p88_pipeline.sync.engine import (
    SyncScope,
    select_future,
    stored_future,
    sync_events,
    sync_participants,
)
from p88_pipeline.sync.figures import SyncFailedError, SyncFigures
from p88_pipeline.warehouse.runs import calls_in_last_hour, record_run

ASSET_NAMES = ("events", "future_events", "participants")  # each provider's chain, in order
log = logging.getLogger(__name__)


@contextmanager
def _terminal_row(
    context: dg.AssetExecutionContext, engine: sa.Engine, provider: str, partner: Partner
) -> Iterator[None]:
    """Whatever ends a step early, its sync_runs row ends in a terminal status with the cause."""
    try:
        yield
    except SyncFailedError:
        raise  # the row was written with the figures
    except BaseException as exc:
        envs = partner.accounts[provider].credential_envs.values()
        entry = redact_value(outcome.describe(exc), env_values(envs, os.environ))
        try:
            record_run(
                engine,
                context.run.run_id,
                provider,
                partner.id,
                finished_at=datetime.now(UTC),
                status=outcome.status_of(type(exc).__name__),
                errors=[entry],
            )
        except Exception as record_exc:  # the database itself may be what failed
            log.warning("sync_runs row left open (closed at the next start): %s", record_exc)
        raise


def _skip_reason(partner: Partner, provider: str) -> str | None:
    if not partner.active:
        return f"partner {partner.slug} is inactive"
    if partner.account(provider) is None:
        return f"partner {partner.slug} has no {provider} account"
    return None


def _partner_or_skip(
    context: dg.AssetExecutionContext, partners: PartnersResource, provider: str
) -> Partner | None:
    """The run's partner, or None (logged) when there is no work for this provider."""
    partner = partners.get(context.partition_key)
    if reason := _skip_reason(partner, provider):
        context.log.info(f"not materialized: {reason}")
        return None
    return partner


def _client(engine, partner: Partner, provider: str):
    """A client whose call budget already counts this partner's calls of the past hour."""
    spent = calls_in_last_hour(engine, provider, partner.id)
    return build_client(partner, provider, spent_last_hour=spent)


def _metadata(figures: SyncFigures) -> dict:
    meta: dict = {"partner": figures.partner, **figures.figures(), "status": figures.status}
    for sync_type, count in figures.type_counts.items():
        meta[f"events_{sync_type}"] = count
    if figures.errors:
        meta["errors"] = dg.MetadataValue.json(figures.errors)
    if figures.page_caps:
        meta["page_caps"] = dg.MetadataValue.json(figures.page_caps)
    return meta


def build_provider_assets(provider: str) -> list[dg.AssetsDefinition]:
    common = dict(
        key_prefix=[provider],
        group_name=provider,
        partitions_def=timing_partner_partitions,
        kinds={"postgres", "python"},
        output_required=False,
    )

    @dg.asset(
        name="events",
        pool=spec_for(provider).pool,
        description=f"Every {provider} event of the partner, upserted into provider_events.",
        **common,
    )
    def events(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
        sync_settings: SyncSettingsResource,
    ) -> Iterator[dg.MaterializeResult]:
        partner = _partner_or_skip(context, partners, provider)
        if partner is None:
            return
        engine = warehouse.get_engine()
        if sync_settings.due_for(provider) == set():  # a due run with nothing due here
            context.log.info(f"not materialized: no {provider} event of {partner.slug} is due")
            return
        now = sync_settings.clock()()
        max_age = sync_settings.events_list_max_age_minutes
        age = reusable_list_age(
            engine,
            provider,
            partner.id,
            now,
            None if max_age is None else timedelta(minutes=max_age),
        )
        if age is not None:  # rule 7: a due run reuses a recent list, no API call
            yield dg.MaterializeResult(
                metadata={
                    "partner": partner.slug,
                    "events_list": "reused",
                    "events_list_age_minutes": round(age.total_seconds() / 60, 1),
                }
            )
            return
        with _terminal_row(context, engine, provider, partner):
            client, grace = _client(engine, partner, provider), sync_settings.policy().grace
            figures = sync_events(engine, client, partner, grace)
        note_list_read(engine, provider, partner.id, now, figures.api_calls)
        record_run(
            engine,
            context.run.run_id,
            provider,
            partner.id,
            events_total=figures.events_total,
            api_calls=figures.api_calls,
            page_caps=figures.page_caps,
        )
        yield dg.MaterializeResult(
            metadata={
                "partner": partner.slug,
                "events_total": figures.events_total,
                "api_calls": figures.api_calls,
                "page_caps": dg.MetadataValue.json(figures.page_caps),
            }
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
    ) -> Iterator[dg.MaterializeResult]:
        partner = _partner_or_skip(context, partners, provider)
        if partner is None:
            return
        engine = warehouse.get_engine()
        with _terminal_row(context, engine, provider, partner):
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
        yield dg.MaterializeResult(
            metadata={
                "partner": partner.slug,
                "events_total": total,
                "events_future": len(future),
                "future_event_ids": ", ".join(e.event_id for e in future)[:2000],
            }
        )

    @dg.asset(
        name="participants",
        deps=[future_events.key],
        pool=spec_for(provider).pool,
        description="Registrations of future events: upserted, soft-deleted, watermarked "
        "in one transaction per race.",
        **common,
    )
    def participants(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
        sync_settings: SyncSettingsResource,
    ) -> Iterator[dg.MaterializeResult]:
        partner = _partner_or_skip(context, partners, provider)
        if partner is None:
            return
        engine = warehouse.get_engine()
        clock, policy = sync_settings.clock(), sync_settings.policy()
        with _terminal_row(context, engine, provider, partner):
            total, future = stored_future(engine, provider, partner, clock(), policy)
            due = sync_settings.due_for(provider)  # rule 7: a due run syncs only those
            chosen = future if due is None else [e for e in future if e.event_id in due]
            client = _client(engine, partner, provider)
            try:
                figures = sync_participants(
                    SyncScope(engine, client, partner), chosen, policy, clock
                )
            except SyncFailedError as exc:
                exc.figures.events_total, exc.figures.events_future = total, len(future)
                _record(engine, context.run.run_id, partner, exc.figures)
                raise
        # stage 3 syncs the chosen events; the totals are stage 2's
        figures.events_total, figures.events_future = total, len(future)
        _record(engine, context.run.run_id, partner, figures)
        now, cutoff = sync_settings.now_and_cutoff()
        lags = lag_metadata(event_lags(engine, partner, provider, now, cutoff), partner)
        yield dg.MaterializeResult(metadata={**_metadata(figures), **lags})

    return [events, future_events, participants]


def _record(engine, run_id: str, partner: Partner, figures: SyncFigures) -> None:
    record_run(
        engine,
        run_id,
        figures.provider,
        partner.id,
        finished_at=datetime.now(UTC),
        status=figures.status,
        # events_total is recorded by the earlier steps (what the events list held)
        **{k: v for k, v in figures.figures().items() if k != "events_total"},
        sync_types=figures.sync_types,
        errors=figures.errors,
        page_caps=figures.page_caps,
    )
