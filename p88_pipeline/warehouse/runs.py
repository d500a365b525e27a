"""sync_runs: one row per (Dagster run, provider, partner) with the run's figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def run_rows(
    engine: sa.Engine, run_ids: Sequence[str], figures: Sequence[str]
) -> list[dict[str, Any]]:
    """The sync_runs rows of these Dagster runs, with the named figure columns."""
    if not run_ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT run_id, provider, timing_partner_id, status, sync_types, errors, "
                f"{', '.join(figures)} FROM sync_runs WHERE run_id = ANY(:ids) "
                "ORDER BY timing_partner_id, provider"
            ),
            {"ids": list(run_ids)},
        ).mappings()
        return [dict(r) for r in rows]


def open_run_ids(engine: sa.Engine) -> list[str]:
    """Runs with a row still `running`: live syncs, or crashed ones not yet closed."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text("SELECT DISTINCT run_id FROM sync_runs WHERE status = 'running'")
            ).scalars()
        )


def close_runs(engine: sa.Engine, run_ids: Sequence[str], status: str, error: str) -> int:
    """Close the still-`running` rows of runs known to be over (their process is gone)."""
    if not run_ids:
        return 0
    with engine.begin() as conn:
        return conn.execute(
            sa.text(
                "UPDATE sync_runs SET status = :status, finished_at = now(), "
                "errors = errors || CAST(:entry AS jsonb) "
                "WHERE run_id = ANY(:ids) AND status = 'running'"
            ),
            {"ids": list(run_ids), "status": status, "entry": json.dumps([{"error": error}])},
        ).rowcount
