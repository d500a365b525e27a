"""How fresh each partner's future events are: the one query the watermark sensor runs per tick.

It aggregates in Postgres (one row per partner, however many events) so a sensor tick stays far
below Dagster's 60 s evaluation timeout even at full scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from p88_pipeline.warehouse.events import future_condition


@dataclass(frozen=True)
class PartnerFreshness:
    """One partner's events across providers: how many, how many to come, how stale."""

    timing_partner_id: str
    events: int
    future_events: int
    never_synced: int
    oldest_watermark: datetime | None  # over future events that have a watermark


_FUTURE = future_condition("e")
_FRESHNESS_SQL = sa.text(
    f"""
    SELECT e.timing_partner_id,
           count(*) AS events,
           count(*) FILTER (WHERE {_FUTURE}) AS future_events,
           count(*) FILTER (WHERE {_FUTURE} AND w.watermark IS NULL) AS never_synced,
           min(w.watermark) FILTER (WHERE {_FUTURE}) AS oldest_watermark
    FROM provider_events e
    LEFT JOIN sync_watermarks w
           ON w.provider = e.provider AND w.timing_partner_id = e.timing_partner_id
          AND w.event_id = e.event_id
    WHERE e.timing_partner_id = ANY(:partner_ids)
      AND e.gone_at IS NULL AND e.inaccessible_at IS NULL  -- rule 9: not synced any more
    GROUP BY e.timing_partner_id
    """
)


def partner_freshness(
    engine: sa.Engine, partner_ids: Sequence[str], future_after: datetime
) -> dict[str, PartnerFreshness]:
    """partner id -> freshness; partners with no stored events are absent from the result."""
    if not partner_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            _FRESHNESS_SQL, {"partner_ids": list(partner_ids), "cutoff": future_after}
        )
        return {
            r.timing_partner_id: PartnerFreshness(
                timing_partner_id=r.timing_partner_id,
                events=r.events,
                future_events=r.future_events,
                never_synced=r.never_synced,
                oldest_watermark=r.oldest_watermark,
            )
            for r in rows
        }
