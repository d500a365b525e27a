"""Issue 24: `p88` under a Dagster user's own DAGSTER_HOME works, or says why in one line.

The real `p88` in a subprocess, as a Dagster user runs it: their own DAGSTER_HOME (empty, or
with a dagster.yaml that lacks p88's settings) syncs and says once what it runs without; a home,
database URL or partners file p88 cannot use ends before the first API request in one line that
names the cause and the fix, never a traceback (that goes to the log).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from p88_pipeline.commands.process_tree import alive, descendants
from p88_pipeline_tests.commands.cli_support import (
    P88,
    assert_warehouse_equals_truth,
    cli_environment,
)
from p88_pipeline_tests.helpers import free_port, wait_for_ui

LACKS = "lacks p88's"


def p88(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`p88 dev` must end by itself here (it failed): a UI that starts is a failure too."""
    timeout = 60 if args[0] == "dev" else 240
    return subprocess.run([P88, *args], env=env, capture_output=True, text=True, timeout=timeout)


def note_lines(stderr: str, home: Path) -> list[str]:
    return [line for line in stderr.splitlines() if f"DAGSTER_HOME {home} {LACKS}" in line]


def assert_one_clean_line(result: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    """The exit code, no traceback anywhere, and one stderr line naming every needle."""
    output = result.stdout + result.stderr
    assert result.returncode == code, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    lines = [x for x in result.stderr.splitlines() if all(n in x for n in needles)]
    assert len(lines) == 1, f"no one line naming {needles}:\n{output[-3000:]}"
    return lines[0]


def test_an_empty_dagster_home_of_ones_own_syncs_and_says_once_what_it_lacks(
    sandbox, db_url, engine, tmp_path
) -> None:
    home = tmp_path / "my-dagster-home"
    home.mkdir()
    env = cli_environment(sandbox, tmp_path, db_url, DAGSTER_HOME=str(home))
    result = p88(env, "sync")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    [note] = note_lines(result.stderr, home)
    for gap in ("pool limits", "per-partner run limit", "run monitoring", "Postgres storage"):
        assert gap in note
    assert (home / "history").is_dir()  # the runs are in the user's own (SQLite) instance
    assert_warehouse_equals_truth(engine, sandbox)

    # The fix the line gives is a command that works: afterwards nothing is lacking.
    fix = shlex.split(note.split("to add them: ", 1)[1].split(" (", 1)[0])
    assert fix[0] == "cp" and fix[-1] == str(home / "dagster.yaml")
    subprocess.run(fix, check=True)
    sandbox.world.advance()
    again = p88(env, "sync")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert note_lines(again.stderr, home) == [] and LACKS not in again.stderr
    assert_warehouse_equals_truth(engine, sandbox)
    with engine.connect() as conn:  # now on Postgres: p88's dagster.yaml, DAGSTER_PG_URL
        assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 2


def test_a_dagster_yaml_without_p88s_settings_is_used_as_it_is(
    sandbox, db_url, engine, tmp_path, dagster_pg_url
) -> None:
    """A user's Postgres instance with a run queue of their own but no pools or tag limits."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url:\n      env: MY_DAGSTER_PG\n"
        "run_queue:\n  max_concurrent_runs: 3\ntelemetry:\n  enabled: false\n"
    )
    env = cli_environment(
        sandbox, tmp_path, db_url, DAGSTER_HOME=str(home), MY_DAGSTER_PG=dagster_pg_url
    )
    result = p88(env, "sync", "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert '"status": "ok"' in result.stdout  # stdout stays one JSON document
    [note] = note_lines(result.stderr, home)
    assert "pool limits" in note and "Postgres storage" not in note
    assert f"merge {Path(P88).parent}" not in note and f"into {home / 'dagster.yaml'}" in note
    assert_warehouse_equals_truth(engine, sandbox)
    dagster = sa.create_engine(dagster_pg_url)
    with dagster.connect() as conn:  # the runs went to the user's storage, not p88's
        assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 2
    dagster.dispose()


def test_doctor_names_each_gap_as_a_warning_with_the_fix(sandbox, db_url, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = cli_environment(sandbox, tmp_path, db_url, DAGSTER_HOME=str(home))
    result = p88(env, "doctor", "--json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    checks = [c for c in json.loads(result.stdout)["checks"] if c["scope"] == "dagster"]
    assert checks[0]["status"] == "PASS" and str(home) in checks[0]["detail"]
    warned = {c["check"]: c for c in checks if c["status"] == "WARN"}
    assert {"pool limits", "per-partner run limit", "run monitoring"} <= set(warned)
    assert all(c["action"].startswith("cp ") for c in warned.values())


def test_status_reads_the_warehouse_whatever_dagster_home_says(sandbox, db_url, tmp_path) -> None:
    env = cli_environment(sandbox, tmp_path, db_url, DAGSTER_HOME=str(tmp_path / "missing"))
    result = p88(env, "status")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "alpha runsignup" in result.stdout


@pytest.mark.e2e
def test_dev_serves_the_ui_on_ones_own_dagster_home_and_says_what_it_lacks(
    sandbox, db_url, tmp_path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = cli_environment(sandbox, tmp_path, db_url, DAGSTER_HOME=str(home))
    port = free_port()
    log = (tmp_path / "dev.log").open("w+")
    dev = subprocess.Popen(
        [P88, "dev", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        wait_for_ui(dev, port, tmp_path / "dev.log")
        started |= descendants(dev.pid)
        os.killpg(dev.pid, signal.SIGINT)
        assert dev.wait(timeout=20) == 0
    finally:
        for pid in alive(started | descendants(dev.pid) | {dev.pid}):
            os.kill(pid, signal.SIGKILL)
    output = (tmp_path / "dev.log").read_text()
    assert f"instance storage SQLite in {home}" in output
    assert len(note_lines(output, home)) == 1 and "Traceback" not in output


READ_ONLY = "read-only"


def _mount_read_only(path: Path) -> None:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.decode().strip()}")


def _home_case(case: str, tmp_path: Path, dead_pg: str) -> tuple[Path, list[str]]:
    """The DAGSTER_HOME of each case, and what its one line must name."""
    home = tmp_path / "home"
    yaml_file = home / "dagster.yaml"
    if case == "missing":
        return home, [f"DAGSTER_HOME {home} does not exist", f"mkdir -p {home}"]
    if case == "a file":
        home.write_text("")
        return home, [f"DAGSTER_HOME {home} is not a directory"]
    if case == READ_ONLY:
        _mount_read_only(home)
        return home, [f"cannot write in DAGSTER_HOME {home}: Read-only file system"]
    home.mkdir()
    if case == "not yaml":
        yaml_file.write_text("storage: [\n")
        return home, [f"{yaml_file} cannot be read", "(line 2, column 1)", "cp "]
    if case == "unknown key":
        yaml_file.write_text("telemetry:\n  enabled: false\nrun_cordinator: {}\n")
        return home, [f"{yaml_file} is not a usable", '"run_cordinator"', "cp "]
    if case == "unset variable":
        yaml_file.write_text("storage:\n  postgres:\n    postgres_url:\n      env: NOT_SET_PG\n")
        return home, [f"{yaml_file} is not a usable", '"NOT_SET_PG" which is not set']
    assert case == "storage down"
    yaml_file.write_text(f"storage:\n  postgres:\n    postgres_url: {dead_pg}\n")
    return home, [f"the storage of DAGSTER_HOME {home} is unreachable", "Connection refused"]


HOME_CASES = ["missing", "a file", "not yaml", "unknown key", "unset variable", READ_ONLY]


@pytest.mark.parametrize(
    ("case", "command"),
    # A storage that refuses takes Dagster's retries (13 s) to give up: not once per command.
    [(c, cmd) for cmd in ("sync", "doctor", "dev") for c in HOME_CASES]
    + [("storage down", "sync"), ("storage down", "doctor")],
)
def test_a_dagster_home_p88_cannot_use_ends_in_one_line_before_any_request(
    sandbox, db_url, tmp_path, case, command
) -> None:
    dead_pg = "postgresql+psycopg2://me:hunter2secret@127.0.0.1:1/dagster"
    home, needles = _home_case(case, tmp_path, dead_pg)
    try:
        env = cli_environment(sandbox, tmp_path, db_url, DAGSTER_HOME=str(home))
        result = p88(env, command, *(["--port", str(free_port())] if command == "dev" else []))
    finally:
        if case == READ_ONLY:
            subprocess.run(["umount", str(home)], check=True)
    output = result.stdout + result.stderr
    assert "hunter2secret" not in output
    assert "Traceback" not in output, output[-3000:]
    if command == "doctor":  # the doctor goes on: one FAIL line, its fix under it
        assert result.returncode == 1, output[-3000:]
        [row] = [x for x in result.stdout.splitlines() if x.startswith("dagster ")]
        assert "FAIL" in row and needles[0] in row, result.stdout
        return
    assert_one_clean_line(result, 1, "Dagster instance: ", *needles)
    assert sandbox.server.calls() == 0  # ended before the first request


DATABASE_CASES = {
    "unreachable": (
        "postgresql+psycopg2://me:hunter2secret@127.0.0.1:1/p88",
        1,
        ["the database is unreachable", "Connection refused", "P88_DATABASE_URL"],
    ),
    "wrong scheme": (
        "mysql://me:hunter2secret@localhost/p88",
        2,
        ["P88_DATABASE_URL has the scheme mysql://", "postgresql+psycopg2://"],
    ),
    "psycopg 3 driver": (
        "postgresql+psycopg://me:hunter2secret@localhost/p88",
        2,
        ["scheme postgresql+psycopg://"],
    ),
    "not a url": ("hunter2secret", 2, ["P88_DATABASE_URL is not a URL"]),
}


@pytest.mark.parametrize("case", list(DATABASE_CASES))
@pytest.mark.parametrize("command", ["sync", "status", "migrate", "dev"])
def test_a_database_url_p88_cannot_use_ends_in_one_line(sandbox, tmp_path, case, command) -> None:
    url, code, needles = DATABASE_CASES[case]
    env = cli_environment(sandbox, tmp_path, url)
    args = ["--port", str(free_port())] if command == "dev" else []
    result = p88(env, command, *args)
    assert "hunter2secret" not in result.stdout + result.stderr
    line = assert_one_clean_line(result, code, *needles)
    assert line.startswith("p88")
    assert sandbox.server.calls() == 0


def test_doctor_reports_a_database_url_it_cannot_use_as_a_fail(sandbox, tmp_path) -> None:
    env = cli_environment(sandbox, tmp_path, "mysql://me:hunter2secret@localhost/p88")
    result = p88(env, "doctor")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "hunter2secret" not in result.stdout + result.stderr
    assert re.search(
        r"^warehouse\s+reachable\s+FAIL\s+P88_DATABASE_URL has the scheme", result.stdout, re.M
    )


@pytest.mark.parametrize("command", ["sync", "doctor", "status"])
def test_a_missing_partners_file_is_one_line(sandbox, db_url, tmp_path, command) -> None:
    """(`p88 dev` starts without one and says how to get one.)"""
    env = cli_environment(sandbox, tmp_path, db_url, P88_PARTNERS_FILE=str(tmp_path / "none.yaml"))
    result = p88(env, command)
    assert_one_clean_line(result, 2, f"partners file {tmp_path / 'none.yaml'} not found")


def test_the_traceback_goes_to_the_log_and_with_v_to_the_terminal(sandbox, tmp_path) -> None:
    url, code, needles = DATABASE_CASES["unreachable"]
    env = cli_environment(sandbox, tmp_path, url)
    quiet = p88(env, "status")
    line = assert_one_clean_line(quiet, code, *needles)
    log = tmp_path / "data" / "logs" / "p88.log"
    assert line.endswith(f"details in {log}")
    assert "Traceback" in log.read_text() and "OperationalError" in log.read_text()
    loud = p88(env, "-v", "status")
    assert loud.returncode == code and "Traceback" in loud.stderr
