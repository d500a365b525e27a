"""provider_events and timing_partners: what each partner has, upserted in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from p88_pipeline.providers.base import Event
from p88_pipeline.warehouse.copy import copy_rows, without_nul


def future_condition(alias: str = "e") -> str:
    """Rule 1 (sync.plan.is_future) as SQL, the one copy every query uses: no start time, or a
    start after `:cutoff` (now minus the grace window, from sync.plan.future_cutoff)."""
    return f"({alias}.start_time IS NULL OR {alias}.start_time > :cutoff)"


EVENT_COLUMNS = (
    "provider",
    "timing_partner_id",
    "event_id",
    "race_id",
    "name",
    "race_name",
    "start_time",
    "end_time",
    "timezone",
    "raw",
)


@dataclass(frozen=True)
class PartnerRow:
    """A timing_partners row: the partners file's say on a partner, copied for SQL joins."""

    id: str
    slug: str
    name: str
    active: bool
    providers: Sequence[str]


def upsert_partner(conn: sa.Connection, partner: PartnerRow) -> None:
    """Serialised per partner: its first row is inserted by parallel runs at once (one per
    provider, or two processes), and with two UNIQUE keys (id, slug) the ON CONFLICT on the id
    does not cover the slug: the loser got a UniqueViolation instead of an update."""
    conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"p88:partner:{partner.id}"},
    )
    conn.execute(
        sa.text(
            "INSERT INTO timing_partners (timing_partner_id, slug, name, active, providers) "
            "VALUES (:id, :slug, :name, :active, :providers) "
            "ON CONFLICT (timing_partner_id) DO UPDATE SET slug = excluded.slug, "
            "name = excluded.name, active = excluded.active, providers = excluded.providers, "
            "updated_at = now()"
        ),
        {
            "id": partner.id,
            "slug": partner.slug,
            "name": partner.name,
            "active": partner.active,
            "providers": list(partner.providers),
        },
    )


def upsert_events(conn: sa.Connection, partner_id: str, events: Sequence[Event]) -> int:
    if not events:
        return 0
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS p88_events_stage "
        "(LIKE provider_events INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    conn.exec_driver_sql("TRUNCATE p88_events_stage")
    rows = (
        (
            e.provider,
            partner_id,
            e.event_id,
            e.race_id,
            e.name,
            e.race_name,
            e.start_time,
            e.end_time,
            e.timezone,
            e.raw,
        )
        for e in events
    )
    copy_rows(conn, "p88_events_stage", EVENT_COLUMNS, rows)
    cols = ", ".join(EVENT_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in EVENT_COLUMNS[3:])
    result = conn.exec_driver_sql(
        f"INSERT INTO provider_events ({cols}) "
        f"SELECT DISTINCT ON (event_id) {cols} FROM p88_events_stage ORDER BY event_id "
        "ON CONFLICT (provider, timing_partner_id, event_id) "
        f"DO UPDATE SET {updates}, updated_at = now(), gone_at = NULL, "
        # Back in the list after an absence: a refusal of before is retried (rule 9).
        "inaccessible_at = CASE WHEN provider_events.gone_at IS NULL "
        "THEN provider_events.inaccessible_at END, "
        "inaccessible_reason = CASE WHEN provider_events.gone_at IS NULL "
        "THEN provider_events.inaccessible_reason END"
    )
    return result.rowcount


def retire_missing(
    conn: sa.Connection,
    provider: str,
    partner_id: str,
    listed: Sequence[str],
    complete_from: datetime | None = None,
) -> list[str]:
    """Rule 9: events absent from a complete events list are gone (kept, no longer synced).

    `complete_from`: the list holds only events starting at or after this instant (RunSignUp's
    `/races?start_date=`); older ones (and ones without a start time) are not judged by it.
    """
    window = "" if complete_from is None else "AND start_time >= :complete_from "
    rows = conn.execute(
        sa.text(
            "UPDATE provider_events SET gone_at = now() WHERE provider = :provider "
            "AND timing_partner_id = :partner AND gone_at IS NULL "
            f"AND NOT (event_id = ANY(:listed)) {window}RETURNING event_id"
        ),
        {
            "provider": provider,
            "partner": partner_id,
            "listed": list(listed),
            "complete_from": complete_from,
        },
    )
    return sorted(rows.scalars())


def mark_inaccessible(
    conn: sa.Connection, provider: str, partner_id: str, event_ids: Sequence[str], reason: str
) -> None:
    """Rule 9: the provider refused these events to this partner; skipped from now on."""
    _set_inaccessible(conn, provider, partner_id, event_ids, without_nul(reason))


def clear_inaccessible(
    conn: sa.Connection, provider: str, partner_id: str, event_ids: Sequence[str]
) -> None:
    """Rule 9: these events were read (a forced full sync retried a refused race): later runs
    sync them again instead of skipping them on the old refusal."""
    _set_inaccessible(conn, provider, partner_id, event_ids, None)


def _set_inaccessible(
    conn: sa.Connection,
    provider: str,
    partner_id: str,
    event_ids: Sequence[str],
    reason: str | None,
) -> None:
    conn.execute(
        sa.text(
            "UPDATE provider_events SET inaccessible_reason = :reason, inaccessible_at = "
            "CASE WHEN CAST(:reason AS text) IS NULL THEN NULL ELSE now() END "
            "WHERE provider = :provider AND timing_partner_id = :partner "
            "AND event_id = ANY(:event_ids) "
            "AND (inaccessible_at IS NOT NULL OR CAST(:reason AS text) IS NOT NULL)"
        ),
        {
            "provider": provider,
            "partner": partner_id,
            "event_ids": list(event_ids),
            "reason": reason,
        },
    )


def load_events(
    conn: sa.Connection, provider: str, partner_id: str, retry_inaccessible: bool = False
) -> list[Event]:
    """The partner's live events: not gone, and not refused unless `retry_inaccessible`."""
    rows = conn.execute(
        sa.text(
            "SELECT event_id, race_id, name, race_name, start_time, end_time, timezone "
            "FROM provider_events WHERE provider = :provider AND timing_partner_id = :partner "
            "AND gone_at IS NULL AND (inaccessible_at IS NULL OR :retry) "
            "ORDER BY race_id, event_id"
        ),
        {"provider": provider, "partner": partner_id, "retry": retry_inaccessible},
    )
    return [
        Event(
            provider=provider,
            event_id=r.event_id,
            race_id=r.race_id,
            name=r.name,
            start_time=r.start_time,
            end_time=r.end_time,
            timezone=r.timezone,
            race_name=r.race_name,
        )
        for r in rows
    ]


def largest_future_event(
    conn: sa.Connection, provider: str, partner_id: str, cutoff: datetime
) -> tuple[Event, int] | None:
    """The partner's live future event with the most stored registrations: where a page cap
    shows first (`p88 doctor` probes with it)."""
    row = conn.execute(
        sa.text(
            "SELECT e.event_id, e.race_id, e.name, e.race_name, e.start_time, e.end_time, "
            "e.timezone, count(p.participant_id) AS n FROM provider_events e "
            "LEFT JOIN participants p ON p.provider = e.provider "
            "AND p.timing_partner_id = e.timing_partner_id AND p.event_id = e.event_id "
            "AND p.removed_at IS NULL "
            "WHERE e.provider = :provider AND e.timing_partner_id = :partner "
            f"AND e.gone_at IS NULL AND e.inaccessible_at IS NULL AND {future_condition('e')} "
            "GROUP BY e.event_id, e.race_id, e.name, e.race_name, e.start_time, e.end_time, "
            "e.timezone ORDER BY n DESC, e.event_id LIMIT 1"
        ),
        {"provider": provider, "partner": partner_id, "cutoff": cutoff},
    ).first()
    if row is None or row.n == 0:
        return None
    event = Event(
        provider=provider,
        event_id=row.event_id,
        race_id=row.race_id,
        name=row.name,
        start_time=row.start_time,
        end_time=row.end_time,
        timezone=row.timezone,
        race_name=row.race_name,
    )
    return event, int(row.n)


def active_counts(conn: sa.Connection, provider: str, partner_id: str) -> dict[str, int]:
    """Stored active registrations per event of the partner (the sync reads big races first)."""
    rows = conn.execute(
        sa.text(
            "SELECT event_id, count(*) AS n FROM participants WHERE provider = :provider "
            "AND timing_partner_id = :partner AND removed_at IS NULL GROUP BY event_id"
        ),
        {"provider": provider, "partner": partner_id},
    )
    return {r.event_id: int(r.n) for r in rows}
