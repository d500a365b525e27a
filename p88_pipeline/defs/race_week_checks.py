"""Race-week checks on `<provider>/participants`, one evaluation per timing partner:

- duplicate bibs among an event's active registrations (ERROR, not blocking: the sync's data is
  right, the provider's is not, and the partner must hear of it before race day);
- an event starting within 72 h with registrations lacking a bib (WARN);
- registrations modified after their event started (WARN, informational).

Each names the partner, every offending event with its count, and a capped sample of rows.
The queries are in warehouse/bib_checks.py.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
from sqlalchemy import Engine

from p88_pipeline.defs.checks import partner_check
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.warehouse.bib_checks import (
    Offence,
    duplicate_bibs,
    missing_bibs,
    modified_after_start,
)

BIB_HORIZON = timedelta(hours=72)
LISTED = 20  # offending events (or bibs) listed in metadata


def per_event(offences: list[Offence]) -> dict[str, int]:
    """Event label -> its count: duplicate bibs (one offence per bib) or registrations."""
    counts: dict[str, int] = {}
    for o in offences:
        label = f"{o.event_id} ({o.event_name})"
        counts[label] = counts.get(label, 0) + (1 if o.bib is not None else o.count)
    return counts


def summary(slug: str, provider: str, what: str, offences: list[Offence]) -> str:
    """One line a person can act on: partner, count, and the events it is in."""
    counts = per_event(offences)
    if not counts:
        return f"{slug}: no {what} in {provider} events"
    listed = ", ".join(f"{event}: {n}" for event, n in list(counts.items())[:LISTED])
    more = f", and {len(counts) - LISTED} more" if len(counts) > LISTED else ""
    return (
        f"{slug}: {sum(counts.values())} {what} in {len(counts)} {provider} events: {listed}{more}"
    )


def _result(
    slug: str,
    provider: str,
    what: str,
    offences: list[Offence],
    severity: dg.AssetCheckSeverity,
) -> dg.AssetCheckResult:
    sample = [
        {
            "event_id": o.event_id,
            "event_name": o.event_name,
            **({"bib": o.bib} if o.bib is not None else {}),
            "count": o.count,
            "registration_ids": list(o.registration_ids),
        }
        for o in offences[:LISTED]
    ]
    counts = per_event(offences)
    return dg.AssetCheckResult(
        passed=not offences,
        severity=severity,
        description=summary(slug, provider, what, offences),
        metadata={
            "partner": slug,
            what.replace(" ", "_"): sum(counts.values()),
            "events": len(counts),
            "per_event": dg.MetadataValue.json(dict(list(counts.items())[:LISTED])),
            "registrations": sum(o.count for o in offences),
            "sample": dg.MetadataValue.json(sample),
        },
    )


@dataclass(frozen=True)
class RaceWeekCheck:
    """One check: its name, what it says, the query (engine, provider, partner id, now, future
    cutoff) -> offences, the words for an offence, and how loud it is."""

    name: str
    description: str
    query: Callable[[Engine, str, str, datetime, datetime], list[Offence]]
    what: str
    severity: dg.AssetCheckSeverity


CHECKS = (
    RaceWeekCheck(
        "unique_bibs",
        "No bib is held by two active registrations of one future event "
        "(a timing disaster on race day). Fails with ERROR; does not block the sync.",
        lambda engine, provider, partner_id, now, cutoff: duplicate_bibs(
            engine, provider, partner_id, cutoff
        ),
        "duplicate bibs",
        dg.AssetCheckSeverity.ERROR,
    ),
    RaceWeekCheck(
        "bibs_before_start",
        f"Every active registration of an event starting within "
        f"{int(BIB_HORIZON.total_seconds() // 3600)} h has a bib. Warns.",
        lambda engine, provider, partner_id, now, cutoff: missing_bibs(
            engine, provider, partner_id, now, BIB_HORIZON
        ),
        "registrations without a bib",
        dg.AssetCheckSeverity.WARN,
    ),
    RaceWeekCheck(
        "unchanged_after_start",
        "No registration was modified after its event started (race-day edits: "
        "informational, warns).",
        lambda engine, provider, partner_id, now, cutoff: modified_after_start(
            engine, provider, partner_id, cutoff
        ),
        "registrations modified after the start",
        dg.AssetCheckSeverity.WARN,
    ),
)
CHECK_NAMES = tuple(c.name for c in CHECKS)


def _build_check(provider: str, check: RaceWeekCheck) -> dg.AssetChecksDefinition:
    @partner_check(
        asset=dg.AssetKey([provider, "participants"]),
        name=check.name,
        description=check.description,
    )
    def race_week_check(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        partners: PartnersResource,
        sync_settings: SyncSettingsResource,
    ) -> dg.AssetCheckResult:
        partner = partners.get(context.partition_key)
        now, cutoff = sync_settings.now_and_cutoff()
        offences = check.query(warehouse.get_engine(), provider, partner.id, now, cutoff)
        return _result(partner.slug, provider, check.what, offences, check.severity)

    return race_week_check


def build_race_week_checks(provider: str) -> list[dg.AssetChecksDefinition]:
    return [_build_check(provider, check) for check in CHECKS]
