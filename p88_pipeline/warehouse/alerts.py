"""sync_alerts: every failed run and every recovery the alert sensors saw (secrets already
masked), what kind of alert it was, and whether it was posted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa


@dataclass(frozen=True)
class AlertRecord:
    """One sync_alerts row as the sensors write it: the run, what failed, the alert's kind and
    the failure streak it belongs to."""

    run_id: str
    partner: str | None
    job_name: str
    steps: Sequence[str]
    message: str
    kind: str
    streak_started_at: datetime
    at: datetime


def record_alert(engine: sa.Engine, alert: AlertRecord) -> int | None:
    """Insert the alert; None when this run already has one (re-evaluated tick)."""
    with engine.begin() as conn:
        return conn.execute(
            sa.text(
                "INSERT INTO sync_alerts (run_id, timing_partner, job_name, steps, message, kind, "
                "streak_started_at, created_at) VALUES (:run_id, :partner, :job, :steps, "
                ":message, :kind, :streak, :at) ON CONFLICT (run_id) DO NOTHING RETURNING id"
            ),
            {
                "run_id": alert.run_id,
                "partner": alert.partner,
                "job": alert.job_name,
                "steps": list(alert.steps),
                "message": alert.message,
                "kind": alert.kind,
                "streak": alert.streak_started_at,
                "at": alert.at,
            },
        ).scalar()


def last_posted_alert(engine: sa.Engine, partner: str | None) -> sa.Row | None:
    """The partner's latest alert that was meant to be posted: (kind, created_at,
    streak_started_at), or None if it never had one."""
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT kind, created_at, streak_started_at FROM sync_alerts "
                "WHERE timing_partner IS NOT DISTINCT FROM :partner AND kind <> 'repeat' "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"partner": partner},
        ).first()


def mark_posted(engine: sa.Engine, alert_id: int, posted: bool, post_error: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sync_alerts SET posted = :posted, post_error = :error WHERE id = :id"),
            {"posted": posted, "error": post_error, "id": alert_id},
        )
