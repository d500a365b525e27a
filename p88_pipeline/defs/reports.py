"""`reports/event_registrations` and `reports/start_lists`: per timing partner, downstream of
every provider's participants (so the lineage shows all of them), in the sync jobs right after
the sync. They read the warehouse only: no API call. An inactive partner gets no
materialization (nothing was computed), a partner with one provider a full report.
"""

from collections.abc import Iterator

import dagster as dg

from p88_pipeline.config.partners import Partner
from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.providers.registry import names
from p88_pipeline.reports.export import export_start_lists
from p88_pipeline.reports.registrations import TOTALS, run_report
from p88_pipeline.settings import load_settings

GROUP = "reports"
TABLE_ROWS = 200  # the UI table shows the soonest events; the warehouse table has them all
TABLE_COLUMNS = (
    ("provider", "string"),
    ("event_id", "string"),
    ("event_name", "string"),
    ("days_to_start", "int"),
    *((name, "int") for name in TOTALS),
    ("gender_f", "int"),
    ("gender_m", "int"),
    ("gender_x", "int"),
)


def _partner(context: dg.OpExecutionContext, partners: PartnersResource) -> Partner | None:
    partner = partners.get(context.partition_key)
    if not partner.active:
        context.log.info(f"not materialized: partner {partner.slug} is inactive")
        return None
    return partner


def _table(rows: list[dict]) -> dg.MetadataValue:
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({name: row[name] for name, _ in TABLE_COLUMNS})
            for row in rows[:TABLE_ROWS]
        ],
        schema=dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in TABLE_COLUMNS]),
    )


@dg.op(ins={"after": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing, is_required=False))
def event_registrations_report(
    context: dg.OpExecutionContext,
    warehouse: WarehouseResource,
    partners: PartnersResource,
    sync_settings: SyncSettingsResource,
) -> Iterator[dg.Output]:
    partner = _partner(context, partners)
    if partner is None:
        return
    now, cutoff = sync_settings.now_and_cutoff()
    report = run_report(warehouse.get_engine(), partner.id, now, cutoff)
    yield dg.Output(
        None,
        metadata={
            "partner": partner.slug,
            "report_date": report.report_date,
            **report.totals(),
            "events_table": _table(report.rows),
        },
    )


@dg.op(ins={"after": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing, is_required=False))
def start_lists_export(
    context: dg.OpExecutionContext,
    warehouse: WarehouseResource,
    partners: PartnersResource,
    sync_settings: SyncSettingsResource,
) -> Iterator[dg.Output]:
    partner = _partner(context, partners)
    if partner is None:
        return
    _, cutoff = sync_settings.now_and_cutoff()
    result = export_start_lists(warehouse.get_engine(), partner, load_settings().exports, cutoff)
    yield dg.Output(
        None,
        metadata={
            "partner": partner.slug,
            "directory": dg.MetadataValue.path(str(result.directory)),
            "files_written": len(result.written),
            "files_unchanged": result.unchanged,
            "rows_written": sum(e.rows for e in result.written),
            "written": ", ".join(e.path.name for e in result.written)[:2000],
        },
    )


def _gate(provider: str) -> dg.OpDefinition:
    @dg.op(
        name=f"after_{provider}",
        ins={"participants": dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
        description=f"Passes once {provider}'s participants (and their blocking check) are done.",
    )
    def gate() -> None:
        return None

    return gate


_GATES = {provider: _gate(provider) for provider in names()}


def _after_every_provider(op: dg.OpDefinition, name: str, description: str) -> dg.AssetsDefinition:
    """A report asset below every provider's participants that still runs when some provider's
    chain materialized nothing (a partner without an account there): plain deps would skip it as
    soon as one is missing. One gate op per provider (skipped with its provider), then a fan-in
    that runs when any gate passed. (A fan-in straight over the inputs is refused: an input gated
    by a blocking check is a fan-in already.)"""
    upstream = {
        provider: dg.AssetIn(key=dg.AssetKey([provider, "participants"]), dagster_type=dg.Nothing)
        for provider in names()
    }

    @dg.graph_asset(
        name=name,
        key_prefix=[GROUP],
        group_name=GROUP,
        partitions_def=timing_partner_partitions,
        ins=upstream,
        kinds={"postgres", "pandas"},
        description=description,
    )
    def report_asset(**participants):
        return op(after=[_GATES[p](participants=done) for p, done in participants.items()])

    return report_asset


event_registrations = _after_every_provider(
    event_registrations_report,
    "event_registrations",
    "Race week, per future event: active registrations, new / modified / removed in the last "
    "24 h, without a bib, genders, age groups, days to start (race's zone). One row per event "
    "and day in event_registration_stats.",
)
start_lists = _after_every_provider(
    start_lists_export,
    "start_lists",
    "One CSV per future event for timing software (bib, names, gender, age, dob, team, "
    "registration id, provider), rewritten atomically when its registrations changed; "
    "manifest.json beside them. Directory: P88_EXPORT_DIR (default <P88_DATA_DIR>/exports).",
)
report_assets = [event_registrations, start_lists]
