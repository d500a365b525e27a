"""sync_watermarks: the per-event high-water marks incremental syncs start from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa


@dataclass(frozen=True)
class Watermark:
    """Where a read got to and how it read (sync.plan's sync types): the next run decides from
    both, so they are stored together."""

    at: datetime
    sync_type: str


def load_watermarks(conn: sa.Connection, provider: str, partner_id: str) -> dict[str, datetime]:
    rows = conn.execute(
        sa.text(
            "SELECT event_id, watermark FROM sync_watermarks "
            "WHERE provider = :provider AND timing_partner_id = :partner"
        ),
        {"provider": provider, "partner": partner_id},
    )
    return {r.event_id: r.watermark for r in rows}


def save_watermarks(
    conn: sa.Connection,
    provider: str,
    partner_id: str,
    event_ids: Sequence[str],
    mark: Watermark,
) -> None:
    """Written on the data's own connection, so both commit or neither does."""
    conn.execute(
        sa.text(
            "INSERT INTO sync_watermarks "
            "(provider, timing_partner_id, event_id, watermark, last_sync_type) "
            "SELECT :provider, :partner, unnest(CAST(:event_ids AS text[])), :watermark, :type "
            "ON CONFLICT (provider, timing_partner_id, event_id) DO UPDATE SET "
            "watermark = excluded.watermark, last_sync_type = excluded.last_sync_type, "
            "updated_at = now()"
        ),
        {
            "provider": provider,
            "partner": partner_id,
            "event_ids": list(event_ids),
            "watermark": mark.at,
            "type": mark.sync_type,
        },
    )


def untimed_events(conn: sa.Connection, provider: str, partner_id: str) -> set[str]:
    """Events whose last read found records without modification time (rule 8)."""
    rows = conn.execute(
        sa.text(
            "SELECT event_id FROM sync_watermarks WHERE provider = :provider "
            "AND timing_partner_id = :partner AND last_sync_type = 'full_compare'"
        ),
        {"provider": provider, "partner": partner_id},
    )
    return set(rows.scalars())
