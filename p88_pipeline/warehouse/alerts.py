"""sync_alerts: what the run-failure sensor posted (secrets already masked), and whether it went."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa


def record_alert(
    engine: sa.Engine,
    run_id: str,
    partner: str | None,
    job_name: str,
    steps: Sequence[str],
    message: str,
) -> int | None:
    """Insert the alert; None when this run already has one (re-evaluated tick)."""
    with engine.begin() as conn:
        return conn.execute(
            sa.text(
                "INSERT INTO sync_alerts (run_id, timing_partner, job_name, steps, message) "
                "VALUES (:run_id, :partner, :job, :steps, :message) "
                "ON CONFLICT (run_id) DO NOTHING RETURNING id"
            ),
            {
                "run_id": run_id,
                "partner": partner,
                "job": job_name,
                "steps": list(steps),
                "message": message,
            },
        ).scalar()


def mark_posted(engine: sa.Engine, alert_id: int, posted: bool, post_error: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sync_alerts SET posted = :posted, post_error = :error WHERE id = :id"),
            {"posted": posted, "error": post_error, "id": alert_id},
        )
