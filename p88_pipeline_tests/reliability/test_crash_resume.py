"""Crash safety with real processes: a sync SIGKILLed at random moments leaves no half-written race
and no watermark ahead of its data; the next run completes to the truth with no duplicates. Two
sync processes of one partner started together: one writes, the other is refused."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from p88_pipeline.settings import PROJECT_ROOT
from p88_pipeline.sync import plan
from p88_pipeline_tests.reliability.support import (
    assert_equals_truth,
    duplicates,
    event_mismatches,
    future_event_ids,
    watermarks,
)
from p88_pipeline_tests.reliability.sync_subprocess import APPLICATION_NAME

SLUG = "bravo"
PAGE_SIZE = 4  # many calls per race, so a kill lands between pages as well as between races
RNG_SEED = 5


def start_sync(sandbox, db_url: str, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "p88_pipeline_tests.reliability.sync_subprocess",
        sandbox.server.url,
        db_url,
        SLUG,
        "--page-size",
        str(PAGE_SIZE),
        *extra,
    ]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **sandbox.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_unlocked(engine: sa.Engine, timeout_s: float = 10.0) -> None:
    """A killed client's backend ends when Postgres notices the socket closed; wait for that."""
    deadline = time.monotonic() + timeout_s
    with engine.connect() as conn:
        while conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :app"
            ),
            {"app": APPLICATION_NAME},
        ).scalar():
            conn.rollback()
            assert time.monotonic() < deadline, "the killed sync's sessions never went away"
            time.sleep(0.02)


def killed_run(
    engine, sandbox, db_url: str, kill: Callable[[subprocess.Popen], None], *extra: str
) -> tuple[int, int, int]:
    """One sync killed by `kill`: (its exit status, events whose watermark advanced, events
    unfinished).

    The invariant: an event whose watermark moved holds exactly the truth (data and watermark
    commit together); every event that does not hold the truth kept its old watermark.
    """
    before = watermarks(engine)
    proc = start_sync(sandbox, db_url, *extra)
    kill(proc)
    proc.wait(30)
    sandbox.server.clear_hooks()
    wait_until_unlocked(engine)
    assert duplicates(engine) == 0
    after = watermarks(engine)
    advanced = unfinished = 0
    for event_id in future_event_ids(sandbox, SLUG):
        wrong = event_mismatches(engine, sandbox, SLUG, "runsignup", event_id)
        moved = after.get(event_id) != before.get(event_id)
        assert not (moved and wrong), f"event {event_id}: watermark advanced over {wrong} diffs"
        advanced += moved
        unfinished += wrong > 0
    return proc.returncode, advanced, unfinished


def kill_at_call(sandbox, n: int, path_end: str = "") -> Callable[[subprocess.Popen], None]:
    """SIGKILL from a sandbox hook when the sync makes its n-th matching call (mid-request)."""

    def arm(proc: subprocess.Popen) -> None:
        seen = []

        def hook(record) -> None:
            if record.path.endswith(path_end) and record.path != "/_sandbox/clock":
                seen.append(record.path)
                if len(seen) == n and proc.poll() is None:
                    os.kill(proc.pid, signal.SIGKILL)

        sandbox.server.add_hook(hook)

    return arm


def kill_after_first_commit(sandbox, engine: sa.Engine) -> Callable[[subprocess.Popen], None]:
    """SIGKILL on the first call made after one race committed, while the other is mid-read."""

    def arm(proc: subprocess.Popen) -> None:
        with engine.connect() as conn:
            start = conn.execute(sa.text("SELECT clock_timestamp()")).scalar()

        def hook(record) -> None:
            with engine.connect() as conn:
                committed = conn.execute(
                    sa.text("SELECT count(*) FROM sync_watermarks WHERE updated_at > :t"),
                    {"t": start},
                ).scalar()
            if committed and proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)

        sandbox.server.add_hook(hook)

    return arm


def kill_after(sandbox, delay_s: float) -> Callable[[subprocess.Popen], None]:
    """SIGKILL `delay_s` after the sync's first provider call: wherever it then is (paging,
    COPY, commit), not while the interpreter is still starting."""

    def arm(proc: subprocess.Popen) -> None:
        started: list[threading.Timer] = []

        def fire() -> None:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)

        def hook(record) -> None:
            if not started:
                started.append(threading.Timer(delay_s, fire))
                started[0].start()

        sandbox.server.add_hook(hook)

    return arm


def complete_run(engine, sandbox, db_url: str) -> dict:
    proc = start_sync(sandbox, db_url)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    wait_until_unlocked(engine)
    return json.loads(out)


def test_a_sync_killed_at_random_moments_resumes_to_the_truth(engine, sandbox, db_url) -> None:
    rng = random.Random(RNG_SEED)
    sandbox.server.set_latency(10)
    results = []
    # Full reads (16 calls), killed four times: mid-page twice, once just after one race
    # committed, once after a random delay.
    for kill in (
        kill_at_call(sandbox, rng.randint(2, 12)),
        kill_after(sandbox, rng.uniform(0.02, 0.12)),
        kill_after_first_commit(sandbox, engine),
        kill_at_call(sandbox, rng.randint(2, 12), "/participants"),
    ):
        results.append(killed_run(engine, sandbox, db_url, kill, "--force-full"))
    complete_run(engine, sandbox, db_url)
    assert_equals_truth(engine, sandbox, SLUG)
    # A night later, incremental syncs killed while reading removals: their participants are
    # already upserted inside the open transaction, which the kill must roll back.
    sandbox.world.advance(timedelta(days=1))
    for kill in (
        kill_at_call(sandbox, 1, "/removed-participants"),
        kill_at_call(sandbox, 2, "/removed-participants"),
        kill_after(sandbox, rng.uniform(0.01, 0.05)),
    ):
        results.append(killed_run(engine, sandbox, db_url, kill))
    figures = complete_run(engine, sandbox, db_url)
    assert set(figures["sync_types"].values()) == {plan.INCREMENTAL}
    assert_equals_truth(engine, sandbox, SLUG)
    assert set(watermarks(engine)) == set(future_event_ids(sandbox, SLUG))
    print("kills (exit status, events advanced, events unfinished):", results)
    # The kills really happened, mid-sync: processes died by SIGKILL with events unfinished, and
    # at least once with one race committed while the other was not.
    assert sum(code == -signal.SIGKILL for code, _, _ in results) >= 5, results
    assert sum(unfinished > 0 for _, _, unfinished in results) >= 5, results
    assert any(advanced > 0 and unfinished > 0 for _, advanced, unfinished in results), results


def test_two_sync_processes_started_together_only_one_writes(engine, sandbox, db_url) -> None:
    procs: list[subprocess.Popen] = []

    def hold_the_lock(record) -> None:
        # The lock holder's first participants call waits until the other process has exited.
        if record.path.endswith("/participants"):
            deadline = time.monotonic() + 20
            while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
                time.sleep(0.02)

    sandbox.server.add_hook(hold_the_lock)
    procs.extend(start_sync(sandbox, db_url) for _ in range(2))
    outputs = [p.communicate(timeout=60) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 3], outputs
    busy_err = outputs[[p.returncode for p in procs].index(3)][1]
    assert f"partner {SLUG}: another sync holds its lock" in busy_err
    races = {
        e["race_id"]
        for e in sandbox.world.events("runsignup", SLUG)
        if str(e["event_id"]) in future_event_ids(sandbox, SLUG)
    }
    first_pages = [
        r
        for r in sandbox.server.log
        if r.path.endswith("/participants") and "after_registration_id" not in r.params
    ]
    assert len(first_pages) == len(races), "only one process read participants"
    assert_equals_truth(engine, sandbox, SLUG)
