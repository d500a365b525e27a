"""`p88 dev`: the Dagster UI and daemon (`dagster dev`) on the repo's dagster.yaml.

The same instance configuration as production; only DAGSTER_PG_URL differs (the embedded Postgres
unless set). Paths are made absolute before `dagster dev` starts its code server and run workers,
so every process agrees on the partners file and the embedded database whatever its cwd.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from p88_pipeline.commands.instance import get_instance, prepare_dagster_home
from p88_pipeline.settings import PROJECT_ROOT, Settings, load_settings
from p88_pipeline.warehouse.db import get_engine, redact_url, resolve_database_url
from p88_pipeline.warehouse.migrations import prepare_warehouse

STOP_TIMEOUT_S = 30


def workspace_file(cwd: Path | None = None) -> Path | None:
    """./workspace.yaml, or the checkout's; None for an installed wheel (the module is loaded)."""
    for candidate in ((cwd or Path.cwd()) / "workspace.yaml", PROJECT_ROOT / "workspace.yaml"):
        if candidate.exists():
            return candidate
    return None


def dev_command(port: int, host: str, workspace: Path | None) -> list[str]:
    target = ["-w", str(workspace)] if workspace else ["-m", "p88_pipeline.definitions"]
    return [sys.executable, "-m", "dagster", "dev", *target, "-h", host, "-p", str(port)]


def dev_environment(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """The environment for dagster dev and everything it spawns: absolute paths, our storage."""
    env = dict(base)
    env["P88_DATA_DIR"] = str(settings.data_dir)
    env["P88_PARTNERS_FILE"] = str(settings.partners_file.resolve())
    return env


def run_dev(port: int = 3000, host: str = "127.0.0.1") -> int:
    settings = load_settings()
    home = prepare_dagster_home(settings)  # sets DAGSTER_HOME and DAGSTER_PG_URL in os.environ
    get_instance(settings)  # pools created before the daemon launches runs side by side
    warehouse_url = resolve_database_url(settings)
    prepare_warehouse(get_engine(warehouse_url))  # fail here, clearly, not in the first sensor tick
    workspace = workspace_file()
    print(f"p88 dev: Dagster UI at http://{host}:{port}", flush=True)
    print(f"  DAGSTER_HOME {home}; instance storage {redact_url(os.environ['DAGSTER_PG_URL'])}")
    print(f"  warehouse {redact_url(warehouse_url)}; partners {settings.partners_file.resolve()}")
    if not settings.partners_file.exists():
        print("  (no partners file yet: copy partners.example.yaml, or run `p88 sandbox serve`)")
    process = subprocess.Popen(
        dev_command(port, host, workspace),
        env=dev_environment(settings, os.environ),
        cwd=home,  # not the checkout: Dagster would warn about the dagster.yaml it finds there
    )
    try:
        return process.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to dagster dev too; let it shut down
        try:
            return process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.terminate()
            return process.wait()
