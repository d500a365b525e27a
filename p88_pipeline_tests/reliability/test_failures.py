"""Failures that retries cannot fix: the failing race keeps its watermark and writes nothing, the
partner's other races finish, and the run fails at the end with a summary. Credentials refused
fail fast; a dropped database connection rolls its race back; two runs of a partner never both
write."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from p88_pipeline.config.partners import PartnerConfigError
from p88_pipeline.providers.base import AuthError
from p88_pipeline.sync import cancel
from p88_pipeline.sync.engine import PartnerBusyError
from p88_pipeline.sync.figures import SyncFailedError
from p88_pipeline_tests.reliability.support import (
    assert_equals_truth,
    event_mismatches,
    future_event_ids,
    snapshot,
    sync,
    watermarks,
)

SLUG = "bravo"


def races(sandbox) -> dict[str, list[str]]:
    """Future race id -> its future event ids (seed 10: bravo has two future races)."""
    future = set(future_event_ids(sandbox, SLUG))
    out: dict[str, list[str]] = {}
    for e in sandbox.world.events("runsignup", SLUG):
        if str(e["event_id"]) in future:
            out.setdefault(str(e["race_id"]), []).append(str(e["event_id"]))
    assert len(out) >= 2
    return out


def assert_only_failed_races_kept_their_state(
    engine, sandbox, failed: set[str], before: dict, rows_before: dict
) -> None:
    after = watermarks(engine)
    for race_id, event_ids in races(sandbox).items():
        for event_id in event_ids:
            if race_id in failed:
                assert after.get(event_id) == before.get(event_id), "watermark must not move"
                assert snapshot(engine, [event_id]) == rows_before[event_id], "half-written"
            else:
                assert after[event_id][0] > before[event_id][0]
                assert event_mismatches(engine, sandbox, SLUG, "runsignup", event_id) == 0


def test_an_unrecoverable_error_fails_its_race_only_and_the_run_at_the_end(engine, sandbox) -> None:
    sync(engine, sandbox, SLUG)
    sandbox.world.advance(timedelta(days=1))
    before = watermarks(engine)
    rows_before = {e: snapshot(engine, [e]) for e in before}
    failing = sorted(races(sandbox))[0]
    # Error 223 (event id not valid) is not retryable: one call, then the race is given up for
    # this run. (201/301/7 would mark the race inaccessible: test_event_lifecycle.)
    sandbox.server.inject(
        "runsignup",
        SLUG,
        "error_in_array",
        count=100,
        error_code=223,
        path_contains=f"/race/{failing}/",
    )
    sandbox.server.reset_log()
    with pytest.raises(SyncFailedError) as caught:
        sync(engine, sandbox, SLUG)
    message = str(caught.value)
    synced = sum(len(v) for k, v in races(sandbox).items() if k != failing)
    assert f"partner {SLUG}: 1 group(s) failed" in message
    assert f"({synced} of {synced + len(races(sandbox)[failing])} future events synced)" in message
    assert f"race {failing}" in message and "RunSignUp error 223" in message
    assert caught.value.figures.status == "failed"
    calls = [r for r in sandbox.server.log if f"/race/{failing}/" in r.path]
    assert len(calls) == 1, "a non-retryable error is not retried"
    assert_only_failed_races_kept_their_state(engine, sandbox, {failing}, before, rows_before)
    sandbox.server.reset_faults()
    sync(engine, sandbox, SLUG)
    assert_equals_truth(engine, sandbox, SLUG)


@pytest.mark.parametrize(
    ("provider", "slug", "field"),
    [
        ("runsignup", "bravo", "api_key_env"),
        ("runsignup", "bravo", "api_secret_env"),
        ("haku", "alpha", "client_id_env"),
        ("haku", "alpha", "client_secret_env"),
    ],
)
def test_a_wrong_credential_fails_fast_naming_partner_and_variable_never_the_secret(
    engine, sandbox, monkeypatch, provider, slug, field
) -> None:
    account = sandbox.partner(slug).accounts[provider]
    variable = account.credential_envs[field]
    wrong = f"wrong-{field}-0123456789"
    monkeypatch.setenv(variable, wrong)
    started = time.monotonic()
    with pytest.raises(AuthError) as caught:
        sync(engine, sandbox, slug, provider)
    message = str(caught.value)
    assert time.monotonic() - started < 2 and sandbox.server.calls(provider) == 1
    assert f"partner {slug}" in message and variable in message
    for secret in (wrong, *sandbox.env.values()):
        assert secret not in message
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM provider_events")).scalar() == 0


def test_a_missing_credential_fails_before_any_call(engine, sandbox, monkeypatch) -> None:
    variable = sandbox.partner(SLUG).accounts["runsignup"].credential_envs["api_secret_env"]
    monkeypatch.delenv(variable)
    with pytest.raises(PartnerConfigError, match=f"partner {SLUG}: .*{variable}"):
        sync(engine, sandbox, SLUG)
    assert sandbox.server.calls() == 0


def test_a_stop_request_mid_read_rolls_the_open_race_back_and_interrupts_the_run(
    engine, sandbox
) -> None:
    """Ctrl-C/SIGTERM (sync/cancel.py) lands on a page boundary: the race being read rolls back
    with its watermark, no further race starts, and the run ends interrupted, naming the race."""
    sync(engine, sandbox, SLUG)
    sandbox.world.advance(timedelta(days=1))
    before = watermarks(engine)
    rows_before = {e: snapshot(engine, [e]) for e in before}

    def stop_on_first_participants_page(record) -> None:
        if record.path.endswith("/participants"):
            cancel.request()

    sandbox.server.add_hook(stop_on_first_participants_page)
    try:
        with pytest.raises(SyncFailedError) as caught:
            sync(engine, sandbox, SLUG)
    finally:
        cancel.clear()
    figures = caught.value.figures
    assert figures.status == "interrupted" and figures.errors
    stopped = {e["race_id"] for e in figures.errors}
    for error in figures.errors:
        assert error["error"] == (
            "SyncInterruptedError: stop requested (Ctrl-C or SIGTERM): stopped at a page boundary"
        )
        assert error["event_ids"] == races(sandbox)[error["race_id"]]
    after = watermarks(engine)
    for race_id, event_ids in races(sandbox).items():
        for event_id in event_ids:
            unchanged = after.get(event_id) == before.get(event_id)
            if race_id in stopped or unchanged:  # stopped mid-read, or never started
                assert unchanged and snapshot(engine, [event_id]) == rows_before[event_id]
            else:  # finished before the stop: whole
                assert event_mismatches(engine, sandbox, SLUG, "runsignup", event_id) == 0


def test_a_dropped_database_connection_rolls_its_race_back(engine, sandbox) -> None:
    sync(engine, sandbox, SLUG)
    sandbox.world.advance(timedelta(days=1))
    before = watermarks(engine)
    rows_before = {e: snapshot(engine, [e]) for e in before}
    killed: list[int] = []

    def terminate_writers(record) -> None:
        # The race has upserted its participants and now reads removals: its transaction is open.
        if killed or not record.path.endswith("/removed-participants"):
            return
        with engine.connect() as conn:
            pids = (
                conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND state = 'idle in transaction' "
                        "AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')"
                    )
                )
                .scalars()
                .all()
            )
            for pid in pids:  # one by one: a WHERE clause does not fix evaluation order
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.extend(pids)

    sandbox.server.add_hook(terminate_writers)
    with pytest.raises(SyncFailedError) as caught:
        sync(engine, sandbox, SLUG)
    assert killed
    failed = {e["race_id"] for e in caught.value.figures.errors}
    assert failed and all(
        e["error"].startswith(("OperationalError", "InterfaceError"))
        for e in caught.value.figures.errors
    )
    assert_only_failed_races_kept_their_state(engine, sandbox, failed, before, rows_before)
    sandbox.server.clear_hooks()
    sync(engine, sandbox, SLUG)
    assert_equals_truth(engine, sandbox, SLUG)


def test_two_syncs_of_one_partner_started_together_only_one_writes(engine, sandbox) -> None:
    other_refused = threading.Event()
    outcomes: list[object] = []

    def hold_the_lock(record) -> None:
        # The lock holder's first participants call waits until the other run has been refused.
        if record.path.endswith("/participants"):
            other_refused.wait(10)

    def run() -> None:
        try:
            outcomes.append(sync(engine, sandbox, SLUG))
        except PartnerBusyError as exc:
            outcomes.append(exc)
            other_refused.set()

    sandbox.server.add_hook(hold_the_lock)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    busy = [o for o in outcomes if isinstance(o, PartnerBusyError)]
    assert len(outcomes) == 2 and len(busy) == 1
    assert f"partner {SLUG}" in str(busy[0])
    participant_calls = [r for r in sandbox.server.log if r.path.endswith("/participants")]
    # One run's reads: a first page per race (and at most one more while the cap is unknown);
    # a second run would have repeated the very same requests.
    requests = [(r.path, tuple(sorted(r.params.items()))) for r in participant_calls]
    assert len(requests) == len(set(requests)) >= len(races(sandbox)), "only one run read"
    assert_equals_truth(engine, sandbox, SLUG)
