"""`p88 dev`: the Dagster UI and daemon (`dagster dev`) on the repo's dagster.yaml.

The same instance configuration as production; only DAGSTER_PG_URL differs (the embedded Postgres
unless set). Paths are made absolute before `dagster dev` starts its code server and run workers,
so every process agrees on the partners file and the embedded database whatever its cwd.

`dagster dev` runs in its own session: one Ctrl-C reaches p88 dev, which stops the whole process
tree (webserver, daemon, code servers, run workers) within STOP_S seconds. Quiet by default: the
embedded server's initdb output, DEBUG event lines and Dagster's SupersessionWarning are dropped
unless `-v`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from p88_pipeline.commands.instance import get_instance, prepare_dagster_home
from p88_pipeline.commands.instance_gaps import gap_note, instance_gaps, storage_label
from p88_pipeline.commands.process_tree import stop_tree
from p88_pipeline.providers.registry import pools
from p88_pipeline.settings import PROJECT_ROOT, Settings, load_settings
from p88_pipeline.warehouse.db import get_engine, redact_url, resolve_database_url
from p88_pipeline.warehouse.migrations import prepare_warehouse

STOP_S = 8  # Ctrl-C to every process gone, SIGKILL included (the promise is 10 s)
_DEBUG_LINE = re.compile(r" - DEBUG - ")
_WARNING_LINE = re.compile(r"SupersessionWarning")


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


def keep_line(line: str, state: dict[str, bool]) -> bool:
    """Whether a line of `dagster dev` output is shown without -v: no DEBUG event lines, no
    SupersessionWarning (nor the source line Python prints under a warning)."""
    if state.pop("skip_next", False) and line.startswith("  "):
        return False
    if _WARNING_LINE.search(line):
        state["skip_next"] = True
        return False
    return not _DEBUG_LINE.search(line)


def _pump(stream: IO[str], out: IO[str]) -> None:
    state: dict[str, bool] = {}
    for line in stream:
        if keep_line(line, state):
            out.write(line)
            out.flush()


@contextmanager
def _quiet(enabled: bool) -> Iterator[None]:
    """Silence what subprocesses (initdb, pg_ctl) print to our stdout/stderr; shown on failure."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as capture:
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            capture.seek(0)
            sys.stderr.write(capture.read())
            raise
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def run_dev(port: int = 3000, host: str = "127.0.0.1", verbose: bool = False) -> int:
    settings = load_settings()
    with _quiet(not verbose):
        warehouse_url = resolve_database_url(settings)
        prepare_warehouse(get_engine(warehouse_url))  # fail here, clearly, not in a sensor tick
        home = prepare_dagster_home(settings)  # sets DAGSTER_HOME and DAGSTER_PG_URL
        instance = get_instance(settings)  # pools made before the daemon runs side by side
        note = gap_note(home, instance_gaps(instance, pools()))
        storage = storage_label(instance)
    workspace = workspace_file()
    print(f"p88 dev: Dagster UI at http://{host}:{port} (Ctrl-C stops everything)", flush=True)
    print(f"  DAGSTER_HOME {home}; instance storage {storage}")
    print(f"  warehouse {redact_url(warehouse_url)}; partners {settings.partners_file.resolve()}")
    if note:
        print(f"  {note}")
    if not settings.partners_file.exists():
        print("  (no partners file yet: copy partners.example.yaml, or run `p88 sandbox serve`)")
    sys.stdout.flush()
    process = subprocess.Popen(
        dev_command(port, host, workspace),
        env=dev_environment(settings, os.environ),
        cwd=home,  # not the checkout: Dagster would warn about the dagster.yaml it finds there
        start_new_session=True,  # Ctrl-C comes to us; we stop the whole tree (stop_tree)
        stdout=None if verbose else subprocess.PIPE,
        stderr=None if verbose else subprocess.STDOUT,
        text=True,
    )
    if process.stdout is not None:
        threading.Thread(target=_pump, args=(process.stdout, sys.stdout), daemon=True).start()
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            print("\np88 dev: stopping Dagster …", file=sys.stderr, flush=True)
            stop_tree(process.pid, interrupt_s=STOP_S / 2, term_s=STOP_S / 4)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stopping.is_set() else code
