"""What the race-week reports read and write: future events, one event's registrations as a
pandas frame, start-list fingerprints, and the `event_registration_stats` upsert.

Reads go through `pandas.read_sql` on the SQLAlchemy engine, one event per query, so a partner
with a 30,000-runner race never holds more than that race in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from p88_pipeline.warehouse.events import future_condition

FUTURE = future_condition("e")  # rule 1 in SQL, bound to :cutoff (sync.plan.future_cutoff)

_FUTURE_EVENTS = sa.text(
    f"""
    SELECT e.provider, e.event_id, e.name, e.race_name, e.start_time, e.timezone
    FROM provider_events e
    WHERE e.timing_partner_id = :partner AND {FUTURE}
      AND (CAST(:event AS text) IS NULL OR e.event_id = :event)
    ORDER BY e.start_time NULLS LAST, e.provider, e.event_id
    """
)

# Times as epoch seconds: pandas compares floats at once, tz-aware objects one by one.
_REGISTRATIONS = sa.text(
    """
    SELECT gender, age, bib,
           extract(epoch FROM registered_at)::float8 AS registered_s,
           extract(epoch FROM modified_at)::float8 AS modified_s,
           extract(epoch FROM removed_at)::float8 AS removed_s
    FROM participants
    WHERE provider = :provider AND timing_partner_id = :partner AND event_id = :event
    """
)
START_LIST_COLUMNS = "participant_id, bib, first_name, last_name, gender, age, dob, team"
_START_LIST = sa.text(
    f"""
    SELECT {START_LIST_COLUMNS.replace("dob", "CAST(dob AS text) AS dob")} FROM participants
    WHERE provider = :provider AND timing_partner_id = :partner AND event_id = :event
      AND removed_at IS NULL
    """
)

# NULL and '' must hash apart: concat_ws skips NULLs, so each field is marked first.
_FIELDS = ", ".join(
    f"coalesce(CAST(p.{c} AS text), E'\\x1d')" for c in START_LIST_COLUMNS.split(", ")
)
# What a start list is made of, hashed per event in the database: an event whose fingerprint
# equals the one its last export recorded has nothing new to write (and is not even read).
_FINGERPRINTS = sa.text(
    f"""
    SELECT e.provider, e.event_id,
           md5(coalesce(string_agg(concat_ws(E'\\x1f', {_FIELDS}),
                                   E'\\x1e' ORDER BY p.participant_id), '')) AS fingerprint
    FROM provider_events e
    LEFT JOIN participants p ON p.provider = e.provider
         AND p.timing_partner_id = e.timing_partner_id AND p.event_id = e.event_id
         AND p.removed_at IS NULL
    WHERE e.timing_partner_id = :partner AND {FUTURE}
    GROUP BY e.provider, e.event_id
    """
)

STATS_COLUMNS = (
    "provider",
    "timing_partner_id",
    "event_id",
    "report_date",
    "event_name",
    "start_time",
    "timezone",
    "days_to_start",
    "active",
    "new_24h",
    "modified_24h",
    "removed_24h",
    "without_bib",
    "gender_f",
    "gender_m",
    "gender_x",
    "gender_unknown",
    "age_groups",
    "as_of",
)
_KEY = ("provider", "timing_partner_id", "event_id", "report_date")
_UPSERT_STATS = sa.text(
    f"INSERT INTO event_registration_stats ({', '.join(STATS_COLUMNS)}) VALUES ("
    + ", ".join(
        "CAST(:age_groups AS jsonb)" if c == "age_groups" else f":{c}" for c in STATS_COLUMNS
    )
    + f") ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in STATS_COLUMNS if c not in _KEY)
    + ", computed_at = now()"
)


def future_events(
    engine: sa.Engine, partner_id: str, cutoff: datetime, event_id: str | None = None
) -> pd.DataFrame:
    """The partner's future events of every provider, soonest first (undated last)."""
    with engine.connect() as conn:
        return pd.read_sql(
            _FUTURE_EVENTS,
            conn,
            params={"partner": partner_id, "cutoff": cutoff, "event": event_id},
        )


def _read(query: sa.TextClause, engine: sa.Engine, **params: object) -> pd.DataFrame:
    """Age as a nullable integer: a float column would print 34 as 34.0 in a start list."""
    with engine.connect() as conn:
        return pd.read_sql(query, conn, params=params, dtype={"age": "Int64"})


def event_registrations(
    engine: sa.Engine, provider: str, partner_id: str, event_id: str
) -> pd.DataFrame:
    """What the report counts of one event: every registration, removed ones included."""
    return _read(_REGISTRATIONS, engine, provider=provider, partner=partner_id, event=event_id)


def start_list_rows(
    engine: sa.Engine, provider: str, partner_id: str, event_id: str
) -> pd.DataFrame:
    """One event's active registrations in start-list columns (dob as ISO text)."""
    return _read(_START_LIST, engine, provider=provider, partner=partner_id, event=event_id)


def start_list_fingerprints(
    engine: sa.Engine, partner_id: str, cutoff: datetime
) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(_FINGERPRINTS, {"partner": partner_id, "cutoff": cutoff})
        return {(r.provider, r.event_id): r.fingerprint for r in rows}


def write_event_stats(engine: sa.Engine, rows: Sequence[Mapping[str, Any]]) -> int:
    """Upsert the day's rows: one per (event, report day); a rerun the same day replaces it."""
    if not rows:
        return 0
    with engine.begin() as conn:
        conn.execute(_UPSERT_STATS, list(rows))
    return len(rows)


def stored_event_stats(engine: sa.Engine, partner_id: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text(
                "SELECT * FROM event_registration_stats WHERE timing_partner_id = :partner "
                "ORDER BY report_date, provider, event_id"
            ),
            conn,
            params={"partner": partner_id},
        )
