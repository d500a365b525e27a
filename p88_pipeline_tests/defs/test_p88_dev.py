"""`p88 dev` as a developer runs it: quiet output, and one Ctrl-C (a real SIGINT to the
terminal's process group) stops the webserver, daemon and code servers within 10 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from p88_pipeline.commands.dev import keep_line
from p88_pipeline.commands.process_tree import alive, descendants
from p88_pipeline_tests.helpers import free_port, wait_for_ui

P88 = str(Path(sys.executable).with_name("p88"))
STOP_LIMIT_S = 10


def test_quiet_filter_drops_debug_events_and_supersession_warnings() -> None:
    state: dict[str, bool] = {}
    lines = [
        "2026-11-29 21:00:00 +0000 - dagster - DEBUG - sync - 1a2b - STEP_START - Started\n",
        "/x/dagster/_cli/dev.py:12: SupersessionWarning: `dagster dev` is superseded\n",
        "  warnings.warn(\n",
        "2026-11-29 21:00:01 +0000 - dagster - INFO - Serving dagster-webserver on port 3000\n",
        "2026-11-29 21:00:02 +0000 - dagster - ERROR - sync - 1a2b - STEP_FAILURE - boom\n",
    ]
    assert [line for line in lines if keep_line(line, state)] == lines[3:]


@pytest.mark.e2e
def test_one_ctrl_c_stops_every_process_within_10_s(
    tmp_path: Path, db_url: str, dagster_pg_url: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "P88_DATA_DIR": str(tmp_path / "p88"),
        "P88_DATABASE_URL": db_url,
        "DAGSTER_PG_URL": dagster_pg_url,
        "P88_PARTNERS_FILE": str(tmp_path / "partners.yaml"),
    }
    env.pop("DAGSTER_HOME", None)
    (tmp_path / "partners.yaml").write_text("partners: []\n")
    log = (tmp_path / "dev.log").open("w+")
    started: set[int] = set()
    dev = subprocess.Popen(
        [P88, "dev", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the test plays the terminal: this is its foreground group
    )
    try:
        wait_for_ui(dev, port, tmp_path / "dev.log")
        time.sleep(5)  # let the daemon and the code servers come up too
        started |= descendants(dev.pid)
        assert len(started) >= 3, started  # dagster dev, webserver, daemon (+ code servers)

        began = time.monotonic()
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C: the terminal signals its foreground group
        while alive(started | {dev.pid}) and time.monotonic() - began < STOP_LIMIT_S + 5:
            time.sleep(0.2)
        elapsed = time.monotonic() - began
        left = alive(started | {dev.pid})
        print(f"p88 dev: {len(started)} processes stopped {elapsed:.1f} s after Ctrl-C")
        assert not left and elapsed < STOP_LIMIT_S, (left, elapsed)
        assert dev.wait(timeout=5) == 0
    finally:
        for pid in alive(started | descendants(dev.pid) | {dev.pid}):
            os.kill(pid, signal.SIGKILL)
    output = (tmp_path / "dev.log").read_text()
    assert "Dagster UI at" in output
    assert " - DEBUG - " not in output and "SupersessionWarning" not in output
