"""Issue 13 item 3: Ctrl-C and SIGTERM stop `p88 sync` cleanly. The first signal starts no more
partners and lets running ones stop at a page boundary (their open race rolls back, watermarks
untouched); a second aborts at once. Either way: one line per partner, exit 130/143, no process
or database session left behind, and the next plain `p88 sync` reaches the truth."""

from __future__ import annotations

import signal
import time

from p88_pipeline.sync.outcome import TERMINAL
from p88_pipeline_tests.commands.cli_support import (
    Launched,
    assert_warehouse_equals_truth,
    cli_environment,
    kill_group_at_exit,
    launch,
    on_call,
    other_sessions,
    run_p88,
    statuses,
)
from p88_pipeline_tests.reliability.support import event_mismatches, future_event_ids, watermarks


def stopped(launched: Launched) -> tuple[int, str, str]:
    try:
        return launched.finish()
    finally:
        kill_group_at_exit(launched)


def assert_nothing_left(launched: Launched, engine, out: str, err: str) -> None:
    assert "Traceback" not in out + err, err
    assert launched.seen and not launched.survivors(), "a worker outlived p88"
    assert other_sessions(engine) == 0, "a database session outlived p88"
    rows = statuses(engine)
    assert rows and {s for _, _, s, _ in rows} <= set(TERMINAL), rows


def test_ctrl_c_stops_at_a_page_boundary_sigterm_twice_aborts_and_the_next_sync_completes(
    sandbox, db_url, engine, tmp_path
) -> None:
    env = cli_environment(sandbox, tmp_path, db_url, P88_STOP_GRACE_SECONDS="60")
    sandbox.server.set_latency(20)

    # Ctrl-C (SIGINT to the terminal's process group) while both partners read participants.
    launched = launch(env, "--force-full-sync")
    on_call(sandbox, 2, lambda: launched.signal_group(signal.SIGINT), "/participants")
    code, out, err = stopped(launched)
    assert code == 130, out + err
    assert "SIGINT: starting no more partners" in err
    assert_nothing_left(launched, engine, out, err)
    lines = out.splitlines()
    for slug, provider in (("alpha", "runsignup"), ("alpha", "haku"), ("bravo", "runsignup")):
        mine = [x for x in lines if f" {slug} " in x and f" {provider} " in x]
        assert len(mine) == 1, out  # one line per partner and provider, saying what happened
    assert any(x.startswith("INTERRUPTED") and "synced and committed" in x for x in lines), out
    assert "interrupted" in {s for _, _, s, _ in statuses(engine)}
    moved = watermarks(engine)  # whatever committed is whole
    for event_id in future_event_ids(sandbox, "bravo"):
        if event_id in moved:
            assert event_mismatches(engine, sandbox, "bravo", "runsignup", event_id) == 0

    # SIGTERM to the main process only, then a second one: abort now, still no orphans.
    sandbox.server.clear_hooks()
    sandbox.server.set_latency(50)
    launched = launch(env, "--force-full-sync")
    signalled: list[float] = []

    def twice() -> None:
        launched.signal_main(signal.SIGTERM)
        time.sleep(0.3)
        launched.signal_main(signal.SIGTERM)
        signalled.append(time.monotonic())

    on_call(sandbox, 2, twice, "/participants")
    code, out, err = stopped(launched)
    aborted_in = time.monotonic() - signalled[0]
    assert code == 143, out + err
    assert aborted_in < 10, f"the second signal took {aborted_in:.1f}s to abort"
    assert_nothing_left(launched, engine, out, err)

    sandbox.server.clear_hooks()
    sandbox.server.set_latency(0)
    code, out, err = run_p88(env)
    assert code == 0, out + err
    assert_warehouse_equals_truth(engine, sandbox)
