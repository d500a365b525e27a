"""The race-week report of one partner: per future event (every provider) its figures of the
day, written to `event_registration_stats`. No API call: the warehouse is the only source.

Events are read one at a time, so memory follows the largest event, not the partner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from p88_pipeline.reports.stats import days_to_start, event_figures
from p88_pipeline.warehouse.race_week import (
    event_registrations,
    future_events,
    write_event_stats,
)

TOTALS = ("active", "new_24h", "modified_24h", "removed_24h", "without_bib")


@dataclass(frozen=True)
class PartnerReport:
    partner_id: str
    report_date: str
    rows: list[dict]

    def totals(self) -> dict[str, int]:
        return {"events": len(self.rows), **{k: sum(r[k] for r in self.rows) for k in TOTALS}}


def report_date(now: datetime) -> str:
    """The report's day: the as-of instant's UTC date (one row per event and day)."""
    return now.astimezone(UTC).date().isoformat()


def build_report(engine: sa.Engine, partner_id: str, now: datetime, cutoff: datetime) -> list[dict]:
    """One row per future event of the partner, soonest first. Pure of writes."""
    rows = []
    day = report_date(now)
    for event in future_events(engine, partner_id, cutoff).itertuples(index=False):
        regs = event_registrations(engine, event.provider, partner_id, event.event_id)
        try:
            figures = event_figures(regs, now).as_row()
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"race-week report of partner {partner_id}, {event.provider} event "
                f"{event.event_id}: {exc}"
            ) from exc
        start = None if pd.isna(event.start_time) else event.start_time.to_pydatetime()
        rows.append(
            {
                "provider": event.provider,
                "timing_partner_id": partner_id,
                "event_id": event.event_id,
                "report_date": day,
                "event_name": event.name,
                "start_time": start,
                "timezone": event.timezone,
                "days_to_start": days_to_start(start, event.timezone, now),
                **figures,
                "as_of": now,
            }
        )
    return rows


def run_report(
    engine: sa.Engine, partner_id: str, now: datetime, cutoff: datetime
) -> PartnerReport:
    """Build the partner's report and store the day's rows."""
    rows = build_report(engine, partner_id, now, cutoff)
    write_event_stats(engine, [{**r, "age_groups": json.dumps(r["age_groups"])} for r in rows])
    return PartnerReport(partner_id, report_date(now), rows)
