"""Alerts per partner and failure streak: a Slack-compatible webhook post plus a row in
sync_alerts, secrets masked.

Every failed run is recorded; only the first failure of a partner's streak is posted, then a
reminder every P88_ALERT_REMINDER_MINUTES while it keeps failing, and a "recovered" message on its
next successful run (alert_policy.py has the rules). A row is written before posting and keyed on
the run id, so a re-evaluated tick (the cursor is only saved when a tick succeeds) does not post
twice; a webhook that is down never fails the sensor: the row keeps the reason in post_error.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import requests
import sqlalchemy as sa

from p88_pipeline.defs.alerts.messages import (
    FailedRun,
    SucceededRun,
    build_message,
    describe_failure,
    headline,
    job_label,
    recovery_message,
)
from p88_pipeline.defs.alerts.policy import (
    POSTED,
    AlertKind,
    LastAlert,
    on_failure,
    on_success,
    streak_start,
)
from p88_pipeline.defs.resources import PartnersResource, WarehouseResource
from p88_pipeline.lib.redaction import env_values, redact, redact_value, url_password
from p88_pipeline.lib.run_tags import run_partner
from p88_pipeline.settings import Settings, load_settings
from p88_pipeline.warehouse.alerts import (
    AlertRecord,
    last_posted_alert,
    mark_posted,
    record_alert,
)

POST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Alerting:
    """What a sensor alerts with: the settings (webhook, reminder interval, Dagster's URL), the
    secrets no alert may show, and the log a webhook's refusal is noted in."""

    settings: Settings
    log: Any
    secrets: Sequence[str] = ()


def secrets_to_mask(
    partners: PartnersResource, warehouse: WarehouseResource, webhook_url: str | None
) -> list[str]:
    """Credential values the partners file names, database passwords, the webhook's path."""
    names: list[str] = []
    try:
        for partner in partners.load():
            for account in partner.accounts.values():
                names.extend(account.credential_envs.values())
    except Exception:  # a broken partners file must not silence the alert; URLs still get masked
        pass
    secrets = env_values(names, os.environ)
    for url in (
        warehouse.database_url,
        os.environ.get("P88_DATABASE_URL"),
        os.environ.get("DAGSTER_PG_URL"),
    ):
        if password := url_password(url):
            secrets.append(password)
    if webhook_url:  # Slack-style webhooks carry their token in the path
        parts = urlsplit(webhook_url)
        secrets.extend([webhook_url, parts.path + (f"?{parts.query}" if parts.query else "")])
    return secrets


def post_webhook(url: str | None, payload: dict[str, Any]) -> str | None:
    """POST the payload; the error as text, or None when the receiver accepted it."""
    if not url:
        return "P88_ALERT_WEBHOOK_URL is not set"
    try:
        response = requests.post(url, json=payload, timeout=POST_TIMEOUT_S)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code >= 300:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return None


def _last(engine: sa.Engine, partner: str | None) -> LastAlert | None:
    row = last_posted_alert(engine, partner)
    return LastAlert(AlertKind(row.kind), row.created_at, row.streak_started_at) if row else None


def _post_and_mark(engine: sa.Engine, alerting: Alerting, alert_id: int, payload: dict) -> None:
    error = post_webhook(alerting.settings.alert_webhook_url, payload)
    if error:
        error = redact(error, alerting.secrets)
        alerting.log.warning(f"alert {alert_id} not posted: {error}")
    mark_posted(engine, alert_id, error is None, error)


def alert_failure(
    engine: sa.Engine, failed: FailedRun, now: datetime, alerting: Alerting
) -> AlertKind | None:
    """Record a failed run and post it if it opens a streak or is due a reminder; the kind, or
    None when the run was already recorded."""
    settings, secrets = alerting.settings, alerting.secrets
    failed.steps = [redact(s, secrets) for s in failed.steps]
    failed.errors = [redact(e, secrets) for e in failed.errors]
    last = _last(engine, failed.partner)
    kind = on_failure(last, now, timedelta(minutes=settings.alert_reminder_minutes))
    started = streak_start(kind, last, now)
    title = headline(failed, kind, started, now)
    payload = redact_value(build_message(failed, settings.dagster_url, title), secrets)
    alert_id = record_alert(
        engine,
        AlertRecord(
            run_id=failed.run_id,
            partner=failed.partner,
            job_name=failed.job_name,
            steps=failed.steps,
            message=redact(title + "\n" + "\n".join(failed.errors), secrets),
            kind=kind,
            streak_started_at=started,
            at=now,
        ),
    )
    if alert_id is None:
        alerting.log.info(f"run {failed.run_id} already alerted; not posting again")
        return None
    if kind in POSTED:
        _post_and_mark(engine, alerting, alert_id, payload)
    return kind


def alert_recovery(
    engine: sa.Engine, run: SucceededRun, now: datetime, alerting: Alerting
) -> AlertKind | None:
    """Post "recovered" when this successful run ends the partner's failure streak."""
    last = _last(engine, run.partner)
    if on_success(last) is None or run.partner is None:
        return None
    assert last is not None
    started = last.streak_started_at
    payload = recovery_message(run, started, now, alerting.settings.dagster_url)
    alert_id = record_alert(
        engine,
        AlertRecord(
            run_id=run.run_id,
            partner=run.partner,
            job_name=run.job_name,
            steps=[],
            message=payload["text"],
            kind=AlertKind.RECOVERED,
            streak_started_at=started,
            at=now,
        ),
    )
    if alert_id is not None:
        _post_and_mark(engine, alerting, alert_id, payload)
    return AlertKind.RECOVERED


@dg.run_failure_sensor(
    name="run_failure_alerts",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run in sync_alerts and posts to P88_ALERT_WEBHOOK_URL "
    "(Slack-compatible) once per partner per failure streak, then a reminder every "
    "P88_ALERT_REMINDER_MINUTES (default 240); credentials and passwords masked.",
)
def run_failure_alerts(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource, partners: PartnersResource
) -> None:
    settings = load_settings()
    secrets = secrets_to_mask(partners, warehouse, settings.alert_webhook_url)
    failed = describe_failure(context)
    try:
        engine = warehouse.get_engine()
        alerting = Alerting(settings, context.log, secrets)
        alert_failure(engine, failed, datetime.now(UTC), alerting)
    except Exception as exc:  # the warehouse being down is no reason to stay silent
        context.log.warning(f"could not record the alert: {redact(str(exc), secrets)}")
        error = post_webhook(
            settings.alert_webhook_url,
            redact_value(build_message(failed, settings.dagster_url, "p88 alert"), secrets),
        )
        if error:
            context.log.warning(
                f"alert for run {failed.run_id} not posted: {redact(error, secrets)}"
            )


@dg.run_status_sensor(
    name="run_recovery_alerts",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts 'recovered' when a partner whose runs were failing has a successful run.",
)
def run_recovery_alerts(context: dg.RunStatusSensorContext, warehouse: WarehouseResource) -> None:
    run = context.dagster_run
    succeeded = SucceededRun(
        run.run_id, job_label(run.job_name, run.asset_selection), run_partner(run.tags)
    )
    alerting = Alerting(load_settings(), context.log)
    alert_recovery(warehouse.get_engine(), succeeded, datetime.now(UTC), alerting)
