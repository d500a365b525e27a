"""What an alert says: the failed run as an operator reads it (partner, the job they know, the
step and error that matter), as a Slack-compatible payload."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from p88_pipeline.defs.alerts.policy import AlertKind, cut_at_word, duration_label
from p88_pipeline.lib.run_tags import run_partner

SUMMARY_LIMIT = 2500  # Slack caps a section's text at 3000 characters
TEXT_LIMIT = 200  # the notification line
IMPLICIT_ASSET_JOB = "__ASSET_JOB"


@dataclass
class FailedRun:
    run_id: str
    job_name: str
    partner: str | None
    steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    will_retry: bool = False


@dataclass(frozen=True)
class SucceededRun:
    """A successful run as the recovery sensor sees it: enough to say who recovered, and where."""

    run_id: str
    job_name: str
    partner: str | None


def job_label(job_name: str, asset_keys: Any = None) -> str:
    """The job as an operator knows it: Dagster's implicit asset job is the UI's Materialize."""
    if not job_name.startswith(IMPLICIT_ASSET_JOB):
        return job_name
    keys = sorted(k.to_user_string() for k in asset_keys or ())
    if not keys or len(keys) > 2:
        return f"Materialize from the UI ({len(keys)} assets)" if keys else "Materialize"
    return f"Materialize {', '.join(keys)}"


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
        job_name=job_label(run.job_name, run.asset_selection),
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


def headline(failed: FailedRun, kind: AlertKind, streak_started_at: datetime, now: datetime) -> str:
    partner = failed.partner or "-"
    retry = " (Dagster will retry it)" if failed.will_retry else ""
    if kind == AlertKind.REMINDER:
        since = streak_started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"p88: partner {partner} still failing since {since} "
            f"({duration_label(now - streak_started_at)}): {failed.job_name} failed{retry}"
        )
    return f"p88: {failed.job_name} failed for partner {partner}{retry}"


def build_message(
    failed: FailedRun,
    dagster_url: str | None,
    title: str,
) -> dict[str, Any]:
    """Slack-compatible payload: `text` for notifications (the headline and the first error, cut
    between words), `blocks` for the channel (the full errors, once)."""
    partner = failed.partner or "-"
    steps = ", ".join(failed.steps) or "(none: the run failed outside a step)"
    summary = "\n".join(failed.errors)
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[: SUMMARY_LIMIT - 1] + "…"
    link = f"{dagster_url.rstrip('/')}/runs/{failed.run_id}" if dagster_url else None
    text = cut_at_word(f"{title}: {failed.errors[0]}", TEXT_LIMIT)
    run_field = f"<{link}|{failed.run_id[:8]}>" if link else failed.run_id
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"p88 run failed: {partner}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Partner*\n{partner}"},
                {"type": "mrkdwn", "text": f"*Job*\n{failed.job_name}"},
                {"type": "mrkdwn", "text": f"*Failed steps*\n{steps}"},
                {"type": "mrkdwn", "text": f"*Run*\n{run_field}"},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{summary}```"}},
    ]
    if link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    return {"text": text, "blocks": blocks}


def recovery_message(
    run: SucceededRun, streak_started_at: datetime, now: datetime, url: str | None
) -> dict[str, Any]:
    partner = run.partner or "-"
    link = f"{url.rstrip('/')}/runs/{run.run_id}" if url else run.run_id
    text = (
        f"p88: partner {partner} recovered: {run.job_name} succeeded after failing for "
        f"{duration_label(now - streak_started_at)}"
    )
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"p88 recovered: {partner}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n{link}"}},
    ]
    return {"text": text, "blocks": blocks}
