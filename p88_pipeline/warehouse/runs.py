"""sync_runs: one row per (Dagster run, provider, partner) with the run's figures."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

JSON_FIELDS = ("sync_types", "errors", "page_caps")
COUNTER_FIELDS = ("api_calls",)  # summed across a run's assets; the rest overwrite
MERGED_FIELDS = ("page_caps",)  # per endpoint: each asset adds the endpoints it read


def record_run(
    engine: sa.Engine, run_id: str, provider: str, partner_id: str, **figures: Any
) -> None:
    """Upsert the run's row. Counters add up across the run's assets; other fields overwrite."""
    values = {k: (json.dumps(v) if k in JSON_FIELDS else v) for k, v in figures.items()}
    columns = ["run_id", "provider", "timing_partner_id", *values]
    updates = ", ".join(
        f"{k} = sync_runs.{k} + excluded.{k}"
        if k in COUNTER_FIELDS
        else f"{k} = sync_runs.{k} || excluded.{k}"
        if k in MERGED_FIELDS
        else f"{k} = excluded.{k}"
        for k in values
    )
    casts = {k: f"CAST(:{k} AS jsonb)" for k in JSON_FIELDS}
    placeholders = ", ".join(casts.get(c, f":{c}") for c in columns)
    sql = (
        f"INSERT INTO sync_runs ({', '.join(columns)}) VALUES ({placeholders}) "
        "ON CONFLICT (run_id, provider, timing_partner_id) "
        + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING")
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(sql),
            {"run_id": run_id, "provider": provider, "timing_partner_id": partner_id, **values},
        )


def calls_in_last_hour(engine: sa.Engine, provider: str, partner_id: str) -> int:
    """API calls this partner's runs recorded on this provider in the past hour (quota sharing)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT coalesce(sum(api_calls), 0) FROM sync_runs WHERE provider = :provider "
                    "AND timing_partner_id = :partner AND started_at > now() - interval '1 hour'"
                ),
                {"provider": provider, "partner": partner_id},
            ).scalar()
        )
