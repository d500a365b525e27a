"""Run-failure alerts: a Slack-compatible webhook post plus a row in sync_alerts, secrets masked.

The row is written first and keyed on the run id, so a tick that is re-evaluated (the cursor is
only saved when a tick succeeds) does not alert twice; a webhook that is down never fails the
sensor: the row keeps the reason in post_error.
"""

import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import requests

from p88_pipeline.defs.resources import PartnersResource, WarehouseResource
from p88_pipeline.redaction import env_values, redact, redact_value, url_password
from p88_pipeline.run_tags import run_partner
from p88_pipeline.settings import load_settings
from p88_pipeline.warehouse.alerts import mark_posted, record_alert

SUMMARY_LIMIT = 2500  # Slack caps a section's text at 3000 characters
POST_TIMEOUT_S = 10.0


@dataclass
class FailedRun:
    run_id: str
    job_name: str
    partner: str | None
    steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    will_retry: bool = False


def _user_error(error: Any) -> Any:
    """Dagster wraps the exception the asset raised; that one is what an operator needs (not
    whatever low-level error it was raised from)."""
    while getattr(error, "cause", None) is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error


def _error_line(error: Any) -> str:
    """`Class: message`, without the module path Dagster's error info puts in front."""
    message = error.message.strip()
    qualified = re.match(r"^([\w.]+\.)?(\w+): ", message)
    if qualified and qualified.group(2) == error.cls_name:
        return message[len(qualified.group(1) or "") :]
    return f"{error.cls_name}: {message}"


def describe_failure(context: dg.RunFailureSensorContext) -> FailedRun:
    run = context.dagster_run
    failed = FailedRun(
        run_id=run.run_id,
        job_name=run.job_name,
        partner=run_partner(run.tags),
        will_retry=run.tags.get("dagster/will_retry") == "true",
    )
    for event in context.get_step_failure_events():
        failed.steps.append(event.step_key or "?")
        data = event.step_failure_data
        if data and data.error:
            error = _user_error(data.error)
            failed.errors.append(f"{event.step_key}: {_error_line(error)}")
    if not failed.errors:  # run-level failure: worker crash, launch or resource error
        failed.errors.append(context.failure_event.message or "run failed")
    return failed


def build_message(failed: FailedRun, dagster_url: str | None) -> dict[str, Any]:
    """Slack-compatible payload: `text` for notifications, `blocks` for the channel."""
    partner = failed.partner or "-"
    steps = ", ".join(failed.steps) or "(none: the run failed outside a step)"
    summary = "\n".join(failed.errors)
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[: SUMMARY_LIMIT - 1] + "…"
    link = f"{dagster_url.rstrip('/')}/runs/{failed.run_id}" if dagster_url else None
    retry = " (Dagster will retry it)" if failed.will_retry else ""
    text = f"p88: {failed.job_name} failed for partner {partner}{retry}: {failed.errors[0][:200]}"
    run_field = f"<{link}|{failed.run_id[:8]}>" if link else failed.run_id
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"p88 run failed: {partner}"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Partner*\n{partner}"},
                {"type": "mrkdwn", "text": f"*Job*\n{failed.job_name}{retry}"},
                {"type": "mrkdwn", "text": f"*Failed steps*\n{steps}"},
                {"type": "mrkdwn", "text": f"*Run*\n{run_field}"},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{summary}```"}},
    ]
    if link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    return {"text": text, "blocks": blocks}


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


@dg.run_failure_sensor(
    name="run_failure_alerts",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts every failed run to P88_ALERT_WEBHOOK_URL (Slack-compatible) and records "
    "it in sync_alerts, with partner credentials and database passwords masked.",
)
def run_failure_alerts(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource, partners: PartnersResource
) -> None:
    settings = load_settings()
    secrets = secrets_to_mask(partners, warehouse, settings.alert_webhook_url)
    failed = describe_failure(context)
    failed.steps = [redact(s, secrets) for s in failed.steps]
    failed.errors = [redact(e, secrets) for e in failed.errors]
    payload = redact_value(build_message(failed, settings.dagster_url), secrets)
    alert_id = None
    try:
        message = payload["text"] + "\n\n" + "\n".join(failed.errors)
        alert_id = record_alert(
            warehouse.get_engine(),
            failed.run_id,
            failed.partner,
            failed.job_name,
            failed.steps,
            message,
        )
        if alert_id is None:
            context.log.info(f"run {failed.run_id} already alerted; not posting again")
            return
    except Exception as exc:  # the warehouse being down is no reason to stay silent
        context.log.warning(f"could not record the alert: {redact(str(exc), secrets)}")
    error = post_webhook(settings.alert_webhook_url, payload)
    if error:
        error = redact(error, secrets)
        context.log.warning(f"alert for run {failed.run_id} not posted: {error}")
    if alert_id is not None:
        try:
            mark_posted(warehouse.get_engine(), alert_id, error is None, error)
        except Exception as exc:
            context.log.warning(f"could not update alert {alert_id}: {redact(str(exc), secrets)}")
