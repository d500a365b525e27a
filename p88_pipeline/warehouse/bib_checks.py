"""The race-week checks' queries: duplicate bibs, missing bibs before a start, late changes.

Each returns one row per offending event (all of them: a partner has a few dozen future events),
with up to SAMPLE offending registrations; the checks count and cap from these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from p88_pipeline.warehouse.race_week import FUTURE

SAMPLE = 20
NO_BIB = "btrim(coalesce(p.bib, '')) = ''"

_JOIN = """
    FROM participants p
    JOIN provider_events e ON e.provider = p.provider
     AND e.timing_partner_id = p.timing_partner_id AND e.event_id = p.event_id
    WHERE p.provider = :provider AND p.timing_partner_id = :partner
"""

# A bib is compared trimmed, as text: "007" and "7" are different bibs on a printed number.
_DUPLICATE_BIBS = sa.text(
    f"""
    SELECT p.event_id, e.name AS event_name, btrim(p.bib) AS bib, count(*) AS holders,
           array_agg(p.participant_id ORDER BY p.participant_id) AS registration_ids
    {_JOIN}
      AND p.removed_at IS NULL AND NOT {NO_BIB} AND {FUTURE}
    GROUP BY p.event_id, e.name, btrim(p.bib)
    HAVING count(*) > 1
    ORDER BY p.event_id, btrim(p.bib)
    """
)

_MISSING_BIBS = sa.text(
    f"""
    SELECT p.event_id, e.name AS event_name, e.start_time, count(*) AS registrations,
           (array_agg(p.participant_id ORDER BY p.participant_id))[1:{SAMPLE}] AS registration_ids
    {_JOIN}
      AND p.removed_at IS NULL AND {NO_BIB}
      AND e.start_time > :now AND e.start_time <= :until
    GROUP BY p.event_id, e.name, e.start_time
    ORDER BY e.start_time, p.event_id
    """
)

_MODIFIED_AFTER_START = sa.text(
    f"""
    SELECT p.event_id, e.name AS event_name, e.start_time, count(*) AS registrations,
           (array_agg(p.participant_id ORDER BY p.modified_at DESC, p.participant_id))[1:{SAMPLE}]
               AS registration_ids
    {_JOIN}
      AND p.modified_at > e.start_time AND {FUTURE}
    GROUP BY p.event_id, e.name, e.start_time
    ORDER BY e.start_time, p.event_id
    """
)


@dataclass(frozen=True)
class Offence:
    """One event's offending registrations: `count` of them, `registration_ids` (capped), and for
    a duplicate, the bib they share."""

    event_id: str
    event_name: str
    count: int
    registration_ids: tuple[str, ...]
    bib: str | None = None


def _offences(engine: sa.Engine, query: sa.TextClause, **params: object) -> list[Offence]:
    with engine.connect() as conn:
        return [
            Offence(
                event_id=r.event_id,
                event_name=r.event_name,
                count=int(r.holders if "holders" in r._fields else r.registrations),
                registration_ids=tuple(r.registration_ids[:SAMPLE]),
                bib=getattr(r, "bib", None),
            )
            for r in conn.execute(query, params)
        ]


def duplicate_bibs(
    engine: sa.Engine, provider: str, partner_id: str, cutoff: datetime
) -> list[Offence]:
    """Bibs held by more than one active registration of one future event (one Offence per bib)."""
    return _offences(engine, _DUPLICATE_BIBS, provider=provider, partner=partner_id, cutoff=cutoff)


def missing_bibs(
    engine: sa.Engine, provider: str, partner_id: str, now: datetime, within: timedelta
) -> list[Offence]:
    """Per event starting in (now, now + within]: active registrations with no bib."""
    return _offences(
        engine, _MISSING_BIBS, provider=provider, partner=partner_id, now=now, until=now + within
    )


def modified_after_start(
    engine: sa.Engine, provider: str, partner_id: str, cutoff: datetime
) -> list[Offence]:
    """Per future event (grace window included): registrations changed after its start."""
    return _offences(
        engine, _MODIFIED_AFTER_START, provider=provider, partner=partner_id, cutoff=cutoff
    )
