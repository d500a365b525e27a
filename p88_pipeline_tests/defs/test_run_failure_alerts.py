"""Run-failure alerts: posted to a real local webhook, recorded in sync_alerts, secrets masked."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, quote_plus

import dagster as dg
import pytest
import sqlalchemy as sa

from p88_pipeline.defs.alerts.messages import SucceededRun, describe_failure
from p88_pipeline.defs.alerts.policy import AlertKind
from p88_pipeline.defs.alerts.sensors import (
    Alerting,
    alert_failure,
    alert_recovery,
    run_failure_alerts,
    run_recovery_alerts,
    secrets_to_mask,
)
from p88_pipeline.lib.redaction import MASK, redact
from p88_pipeline.settings import load_settings

SECRET = "s3cr3t/Key+with=chars"  # the partners file names P88_TEST_ACME_SECRET as a credential
DB_PASSWORD = "warehouse-pw-123"


class Receiver:
    """A webhook on 127.0.0.1 that records every body it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/p88"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def alert_env(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv("P88_TEST_ACME_SECRET", SECRET)
    monkeypatch.setenv("P88_DATABASE_URL", f"postgresql+psycopg2://p88:{DB_PASSWORD}@db:5432/p88")
    monkeypatch.setenv("P88_ALERT_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("P88_DAGSTER_URL", "http://dagster.example:3000/")


@dg.op
def participants_step() -> None:
    raise RuntimeError(
        f"401 from https://runsignup.com/Rest/race?api_secret={quote_plus(SECRET)}&x=1 "
        f"(secret {SECRET}, path /{quote(SECRET, safe='')}); warehouse said: password "
        f"{DB_PASSWORD} rejected for postgresql://p88:{DB_PASSWORD}@db/p88"
    )


@dg.job
def failing_sync() -> None:
    participants_step()


@dg.op
def fine_step() -> None:
    pass


@dg.job
def fine_sync() -> None:
    fine_step()


def failure_context(
    instance: dg.DagsterInstance, resources: dict[str, Any], partner: str = "acme"
) -> Any:
    result = failing_sync.execute_in_process(
        instance=instance, raise_on_error=False, tags={"timing_partner": partner}
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts",
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"warehouse": resources["warehouse"], "partners": resources["partners"]},
    ).for_run_failure()


def alerts(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM sync_alerts ORDER BY id")))


def assert_no_secret(text: str) -> None:
    for leaked in (SECRET, quote_plus(SECRET), quote(SECRET, safe=""), DB_PASSWORD):
        assert leaked not in text


@pytest.mark.usefixtures("alert_env")
def test_failure_is_posted_with_partner_job_step_error_and_link(
    instance, resources, receiver: Receiver, engine: sa.Engine
) -> None:
    context = failure_context(instance, resources)

    run_failure_alerts(context)

    (body,) = receiver.bodies
    payload = json.loads(body)
    assert "acme" in payload["text"] and "failing_sync" in payload["text"]
    blocks = json.dumps(payload["blocks"])
    assert "participants_step" in blocks
    assert "RuntimeError: 401 from" in blocks
    assert f"http://dagster.example:3000/runs/{context.dagster_run.run_id}" in blocks
    (row,) = alerts(engine)
    assert (row.run_id, row.timing_partner, row.job_name) == (
        context.dagster_run.run_id,
        "acme",
        "failing_sync",
    )
    assert row.steps == ["participants_step"]
    assert row.posted and row.post_error is None


@pytest.mark.usefixtures("alert_env")
def test_secrets_never_reach_the_webhook_or_the_table(
    instance, resources, receiver: Receiver, engine: sa.Engine
) -> None:
    run_failure_alerts(failure_context(instance, resources))

    body = receiver.bodies[0].decode()
    assert_no_secret(body)
    assert_no_secret(json.dumps(json.loads(body)))  # nor once JSON escapes are undone
    assert MASK in body
    (row,) = alerts(engine)
    assert_no_secret(row.message)
    assert MASK in row.message


@pytest.mark.usefixtures("alert_env")
def test_webhook_down_is_recorded_not_raised(
    instance, resources, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = Receiver()
    closed.close()  # nothing listens on this port any more
    monkeypatch.setenv("P88_ALERT_WEBHOOK_URL", closed.url)

    run_failure_alerts(failure_context(instance, resources))

    (row,) = alerts(engine)
    assert not row.posted
    assert "ConnectionError" in row.post_error
    assert "/hooks/p88" not in row.post_error  # a webhook's path is its token: masked too


@pytest.mark.usefixtures("alert_env")
def test_a_reevaluated_run_is_not_posted_twice(
    instance, resources, receiver: Receiver, engine: sa.Engine
) -> None:
    context = failure_context(instance, resources)
    run_failure_alerts(context)
    run_failure_alerts(context)

    assert len(receiver.bodies) == 1
    assert len(alerts(engine)) == 1


def test_redaction_masks_raw_encoded_and_url_passwords() -> None:
    text = (
        f"key {SECRET} q={quote_plus(SECRET)} p={quote(SECRET, safe='')} "
        "postgresql+psycopg2://user:any-pw@host/db short ab"
    )
    masked = redact(text, [SECRET, "ab", ""])
    assert masked == (
        f"key {MASK} q={MASK} p={MASK} postgresql+psycopg2://user:{MASK}@host/db short ab"
    )


@pytest.mark.usefixtures("alert_env")
def test_five_hour_failure_streak_posts_once_reminds_and_recovers(
    instance, resources, receiver: Receiver, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partner failing every hour from 02:00 to 07:00 (real failed runs, simulated clock): one
    alert, one reminder after 4 h, one "recovered"; another partner's failure is its own streak."""
    monkeypatch.setenv("P88_ALERT_REMINDER_MINUTES", "240")
    settings = load_settings()
    secrets = secrets_to_mask(resources["partners"], resources["warehouse"], receiver.url)
    log = logging.getLogger("test")
    start = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)

    def fail(partner: str, at: datetime) -> AlertKind | None:
        failed = describe_failure(failure_context(instance, resources, partner))
        return alert_failure(engine, failed, at, Alerting(settings, log, secrets))

    kinds = [fail("acme", start + timedelta(hours=h)) for h in range(6)]
    other = fail("bolt", start + timedelta(hours=2, minutes=30))
    recovered = alert_recovery(
        engine,
        SucceededRun("run-ok", "sync", "acme"),
        start + timedelta(hours=5.5),
        Alerting(settings, log),
    )

    assert kinds == ["failure", "repeat", "repeat", "repeat", "reminder", "repeat"]
    assert other == "failure"
    texts = [json.loads(b)["text"] for b in receiver.bodies]
    assert len(texts) == 4, texts
    assert texts[0].startswith("p88: failing_sync failed for partner acme: participants_step:")
    assert texts[1].startswith(
        "p88: partner acme still failing since 2026-11-29 02:00 UTC (4 h 00 min)"
    )
    assert texts[2].startswith("p88: failing_sync failed for partner bolt")
    assert recovered == "recovered"
    assert texts[3] == "p88: partner acme recovered: sync succeeded after failing for 5 h 30 min"
    rows = [r for r in alerts(engine) if r.timing_partner == "acme"]
    assert [(r.kind, r.posted) for r in rows] == [
        ("failure", True),
        ("repeat", False),
        ("repeat", False),
        ("repeat", False),
        ("reminder", True),
        ("repeat", False),
        ("recovered", True),
    ]
    assert {r.streak_started_at for r in rows} == {start}
    # The next failure opens a new streak: posted again.
    assert fail("acme", start + timedelta(hours=6)) == "failure"
    assert len(receiver.bodies) == 5


@pytest.mark.usefixtures("alert_env")
def test_alert_text_is_cut_between_words_and_not_repeated(
    instance, resources, receiver: Receiver, engine: sa.Engine
) -> None:
    run_failure_alerts(failure_context(instance, resources))

    text = json.loads(receiver.bodies[0])["text"]
    (row,) = alerts(engine)
    title, first_error = row.message.split("\n")[:2]
    full = " ".join(f"{title}: {first_error}".split())
    assert len(text) <= 200 and text.endswith("…")
    head = text[:-1]
    assert full.startswith(head) and full[len(head)] == " "  # cut between two words
    assert row.message.count("participants_step: RuntimeError: 401 from") == 1


@pytest.mark.usefixtures("alert_env")
def test_success_after_a_failure_posts_recovered_through_the_sensor(
    instance, resources, receiver: Receiver, engine: sa.Engine
) -> None:
    run_failure_alerts(failure_context(instance, resources))
    success = fine_sync.execute_in_process(instance=instance, tags={"timing_partner": "acme"})
    context = dg.build_run_status_sensor_context(
        sensor_name="run_recovery_alerts",
        dagster_event=instance.all_logs(success.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[
            0
        ].dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(success.run_id),
        resources={"warehouse": resources["warehouse"]},
    )

    run_recovery_alerts(context)
    run_recovery_alerts(context)  # a re-evaluated tick

    texts = [json.loads(b)["text"] for b in receiver.bodies]
    assert len(texts) == 2
    assert texts[1].startswith("p88: partner acme recovered: fine_sync succeeded")
