"""What the warehouse holds, read back row by row to compare it with a source of truth (the
sandbox's, in the demo, the bench, the soak and the tests)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa


def stored_participants(
    engine: sa.Engine, provider: str, partner_id: str, event_ids: Sequence[str]
) -> dict[tuple[str, str], sa.Row]:
    """(event_id, participant_id) -> the stored row, removed ones included."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT event_id, participant_id, modified_at, removed_at IS NOT NULL AS removed, "
                "first_name, last_name, email, bib FROM participants "
                "WHERE provider = :provider AND timing_partner_id = :partner "
                "AND event_id = ANY(:events)"
            ),
            {"provider": provider, "partner": partner_id, "events": list(event_ids)},
        ).all()
    return {(r.event_id, r.participant_id): r for r in rows}


PARTNER_TABLES = ("participants", "sync_watermarks", "provider_events", "rejected_records")


def delete_partner_rows(engine: sa.Engine, partner_ids: Sequence[str]) -> None:
    """Forget what was synced for these partners (the demo rebuilds its sandbox world each time,
    so last time's rows would not match it); sync_runs history stays."""
    with engine.begin() as conn:
        for table in PARTNER_TABLES:
            conn.execute(
                sa.text(f"DELETE FROM {table} WHERE timing_partner_id = ANY(:ids)"),
                {"ids": list(partner_ids)},
            )
