"""What freshness planning reads (rule 7): each future event's watermark, the calls each account
spent recently, and when each events list was last read. A few cheap queries per sensor tick."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from p88_pipeline.warehouse.events import future_condition


@dataclass(frozen=True)
class FutureEventRow:
    timing_partner_id: str
    provider: str
    event_id: str
    race_id: str
    start_time: datetime | None
    watermark: datetime | None


@dataclass(frozen=True)
class RunRow:
    """One account's share of a run (a sync_runs row)."""

    timing_partner_id: str
    provider: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    api_calls: int
    events_synced: int


_FUTURE_SQL = sa.text(
    f"""
    SELECT e.timing_partner_id, e.provider, e.event_id, e.race_id, e.start_time, w.watermark
    FROM provider_events e
    LEFT JOIN sync_watermarks w
           ON w.provider = e.provider AND w.timing_partner_id = e.timing_partner_id
          AND w.event_id = e.event_id
    WHERE e.timing_partner_id = ANY(:partner_ids) AND {future_condition("e")}
      AND e.gone_at IS NULL AND e.inaccessible_at IS NULL  -- rule 9: not synced any more
    ORDER BY e.timing_partner_id, e.provider, e.start_time, e.event_id
    """
)


def future_event_watermarks(
    engine: sa.Engine, partner_ids: Sequence[str], cutoff: datetime
) -> list[FutureEventRow]:
    with engine.connect() as conn:
        rows = conn.execute(_FUTURE_SQL, {"partner_ids": list(partner_ids), "cutoff": cutoff})
        return [FutureEventRow(*r) for r in rows]


def recent_runs(engine: sa.Engine, partner_ids: Sequence[str], since: datetime) -> list[RunRow]:
    """sync_runs rows started after `since` (spent calls, last run, cost history)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT timing_partner_id, provider, started_at, finished_at, status, api_calls, "
                "events_synced FROM sync_runs WHERE timing_partner_id = ANY(:ids) "
                "AND started_at > :since ORDER BY started_at"
            ),
            {"ids": list(partner_ids), "since": since},
        )
        return [RunRow(*r) for r in rows]


def last_runs(engine: sa.Engine, partner_ids: Sequence[str]) -> dict[tuple[str, str], RunRow]:
    """(partner id, provider) -> its latest sync_runs row, however old."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT DISTINCT ON (timing_partner_id, provider) timing_partner_id, provider, "
                "started_at, finished_at, status, api_calls, events_synced FROM sync_runs "
                "WHERE timing_partner_id = ANY(:ids) "
                "ORDER BY timing_partner_id, provider, started_at DESC, id DESC"
            ),
            {"ids": list(partner_ids)},
        )
        return {(r.timing_partner_id, r.provider): RunRow(*r) for r in rows}


def note_list_read(
    engine: sa.Engine, provider: str, partner_id: str, read_at: datetime, api_calls: int
) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO events_list_reads (provider, timing_partner_id, read_at, api_calls) "
                "VALUES (:provider, :partner, :at, :calls) "
                "ON CONFLICT (provider, timing_partner_id) DO UPDATE SET "
                "read_at = excluded.read_at, api_calls = excluded.api_calls"
            ),
            {"provider": provider, "partner": partner_id, "at": read_at, "calls": api_calls},
        )


def list_reads(
    engine: sa.Engine, partner_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[datetime, int]]:
    """(partner id, provider) -> (last events-list read, its API calls)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT timing_partner_id, provider, read_at, api_calls FROM events_list_reads "
                "WHERE timing_partner_id = ANY(:ids)"
            ),
            {"ids": list(partner_ids)},
        )
        return {(r.timing_partner_id, r.provider): (r.read_at, r.api_calls) for r in rows}
