"""Issue 13 item 2: a wait never hangs silently. When every `runsignup_api` slot is held by a run
that is still alive somewhere, `p88 sync` says what it waits for and who holds it; Ctrl-C then
stops it within the bounded grace even though the waiting step never reaches a page boundary."""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time

import dagster as dg

from p88_pipeline_tests.commands.cli_support import (
    cli_environment,
    kill_group_at_exit,
    launch,
    other_sessions,
)

HOLDER = "f00dcafe-0000-4000-8000-000000000000"  # a run this host cannot judge: left alone


def test_a_wait_for_a_pool_slot_is_announced_and_ctrl_c_still_ends_it(
    sandbox, db_url, engine, tmp_path
) -> None:
    overrides = {"storage": {"postgres": {"postgres_url": db_url}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        instance.event_log_storage.set_concurrency_slots("runsignup_api", 1)
        instance.event_log_storage.claim_concurrency_slot("runsignup_api", HOLDER, "elsewhere")
    env = cli_environment(
        sandbox, tmp_path, db_url, P88_WAIT_NOTE_SECONDS="2", P88_STOP_GRACE_SECONDS="3"
    )
    launched = launch(env, "--timing-partner", "bravo")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(x) for x in iter(launched.proc.stderr.readline, "")],
        daemon=True,
    ).start()
    try:
        seen = []
        with contextlib.suppress(queue.Empty):  # nothing said for 60 s: the old silent hang
            while not any("queued for a runsignup_api slot" in x for x in seen):
                seen.append(lines.get(timeout=60))
        assert any(
            "bravo queued for a runsignup_api slot (1 of 1 held by runs: f00dcafe (elsewhere))" in x
            for x in seen
        ), seen
        launched.signal_group(signal.SIGINT)
        stopped_at = time.monotonic()
        launched.proc.wait(60)
        out = launched.proc.stdout.read()
        code, err = launched.proc.returncode, "".join(seen)
    finally:
        kill_group_at_exit(launched)
    assert code == 130, out + err
    assert time.monotonic() - stopped_at < 20
    assert "killed: not stopped within 3 s" in out, out
    assert launched.seen and not launched.survivors()
    assert other_sessions(engine) == 0
    assert sandbox.server.calls() == 0
