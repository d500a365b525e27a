"""Seeing and stopping the embedded PostgreSQL without starting it (`p88 db status|stop`).

The server outlives the command that started it (see embedded.py), so an operator needs to see
which one runs where, what it holds, and stop it before deleting its data directory.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

from p88_pipeline.warehouse.embedded import running_info


@dataclass
class ServerStatus:
    data_dir: str
    running: bool
    pid: int | None = None
    socket: str | None = None
    started_at: str | None = None
    uptime_s: float | None = None
    size_bytes: int = 0
    url: str | None = None
    databases: dict[str, int] = field(default_factory=dict)  # name -> size in bytes
    connections: dict[str, int] = field(default_factory=dict)  # database -> client connections

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def directory_size(path: Path) -> int:
    total = 0
    for item in path.rglob("*"):
        try:
            if item.is_file() and not item.is_symlink():
                total += item.stat().st_size
        except OSError:  # a file the server removed while we looked
            continue
    return total


def server_status(pgdata: Path) -> ServerStatus:
    pgdata = pgdata.resolve()
    info = running_info(pgdata)
    status = ServerStatus(str(pgdata), running=info is not None)
    status.size_bytes = directory_size(pgdata) if pgdata.is_dir() else 0
    if info is None:
        return status
    started = datetime.fromtimestamp(info.process.create_time(), UTC)
    status.pid = info.pid
    status.socket = str(info.socket_path) if info.socket_path else None
    status.started_at = started.isoformat(timespec="seconds")
    status.uptime_s = round((datetime.now(UTC) - started).total_seconds(), 1)
    status.url = info.get_uri(database="postgres", driver="psycopg2")
    engine = sa.create_engine(status.url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            status.databases = dict(
                conn.execute(
                    sa.text(
                        "SELECT datname, pg_database_size(datname) FROM pg_database "
                        "WHERE NOT datistemplate ORDER BY datname"
                    )
                ).all()
            )
            status.connections = dict(
                conn.execute(
                    sa.text(
                        "SELECT datname, count(*) FROM pg_stat_activity "
                        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
                        "GROUP BY datname ORDER BY datname"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    return status


def stop_server(pgdata: Path, timeout_s: float = 60.0) -> int | None:
    """Fast shutdown (SIGINT: clients disconnected, transactions rolled back, a clean checkpoint);
    waits until the postmaster has exited. Returns its PID, or None if none was running."""
    info = running_info(pgdata)
    if info is None:
        return None
    process = info.process
    process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout_s
    while not exited(process):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"embedded PostgreSQL (PID {info.pid}) at {pgdata} still running "
                f"after {timeout_s:.0f} s; see {pgdata / 'log'}"
            )
        time.sleep(0.1)
    return info.pid


def exited(process: psutil.Process) -> bool:
    """Gone, or a zombie nobody reaps (its parent, pg_ctl, exited long ago)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@contextmanager
def stopped_afterwards(pgdata: Path, keep: bool, say: Callable[[str], None]) -> Iterator[None]:
    """For commands on throwaway data (demo, bench): stop the embedded server at the end if this
    block started it, unless asked to keep it; a server that was already running stays."""
    was_running = running_info(pgdata) is not None
    try:
        yield
    finally:
        if running_info(pgdata) is not None:
            if keep or was_running:
                why = "--keep-db" if keep else "it was running before"
                say(f"embedded PostgreSQL at {pgdata} left running ({why}); `p88 db stop` stops it")
            else:
                stop_server(pgdata)
                say(f"stopped the embedded PostgreSQL this command started at {pgdata}")
