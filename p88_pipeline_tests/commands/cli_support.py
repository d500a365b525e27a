"""Running the real `p88` command in a subprocess against the sandbox: environment, signals from
sandbox hooks, the processes it started, and what it leaves behind (rows, sessions, truth)."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import sqlalchemy as sa

from p88_pipeline_tests.helpers import Sandbox
from p88_sandbox.truth import compare_with_truth

P88 = str(Path(sys.executable).with_name("p88"))
PAGE_SIZE = 3  # several pages per race: a stop request lands between pages


def cli_environment(
    sandbox: Sandbox, tmp: Path, database: str | None, page_size: int = PAGE_SIZE, **extra: str
) -> dict[str, str]:
    """A newcomer's environment (no DAGSTER_*), the sandbox's partners with small pages."""
    from p88_sandbox.partners_file import render_partners_yaml

    text = render_partners_yaml(sandbox.world, sandbox.server)
    text = text.replace("        base_url:", f"        page_size: {page_size}\n        base_url:")
    partners = tmp / "partners.yaml"
    partners.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "P88_"))}
    env.update(sandbox.env, P88_DATA_DIR=str(tmp / "data"), P88_PARTNERS_FILE=str(partners))
    if database:
        env["P88_DATABASE_URL"] = database
    env.update(extra)
    return env


@dataclass
class Launched:
    """A `p88` process, its own process group (as a terminal would start it)."""

    proc: subprocess.Popen
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    def remember_children(self) -> None:
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen[child.pid] = child
        except psutil.NoSuchProcess:
            pass

    def signal_group(self, signum: int) -> None:
        """What a terminal does on Ctrl-C: the signal to the whole foreground group."""
        self.remember_children()
        os.killpg(self.proc.pid, signum)

    def signal_main(self, signum: int) -> None:
        """What `kill PID` or a service manager does: the main process only."""
        self.remember_children()
        os.kill(self.proc.pid, signum)

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def survivors(self, timeout: float = 5) -> list[psutil.Process]:
        """Processes it started that are still alive (none may outlive it)."""
        _, alive = psutil.wait_procs(list(self.seen.values()), timeout=timeout)
        return alive


def launch(env: dict[str, str], *args: str) -> Launched:
    proc = subprocess.Popen(
        [P88, "sync", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return Launched(proc)


def on_call(sandbox: Sandbox, n: int, action: Callable[[], None], path_end: str = "") -> None:
    """Run `action` (once) when the sandbox serves the n-th call whose path ends so."""
    seen: list[str] = []

    def hook(record) -> None:
        if record.path.endswith(path_end) and not record.path.startswith("/_sandbox"):
            seen.append(record.path)
            if len(seen) == n:
                action()

    sandbox.server.add_hook(hook)


def run_p88(env: dict[str, str], *args: str, timeout: float = 180) -> tuple[int, str, str]:
    result = subprocess.run(
        [P88, "sync", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    return result.returncode, result.stdout, result.stderr


def other_sessions(engine: sa.Engine, timeout: float = 10) -> int:
    """Sessions on this database besides ours, once the server noticed closed sockets."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            count = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalar()
        if not count or time.monotonic() > deadline:
            return int(count or 0)
        time.sleep(0.1)


def statuses(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        return [
            (r.timing_partner_id, r.provider, r.status, str(r.errors))
            for r in conn.execute(
                sa.text("SELECT timing_partner_id, provider, status, errors FROM sync_runs")
            )
        ]


def assert_warehouse_equals_truth(engine: sa.Engine, sandbox: Sandbox) -> None:
    now = sandbox.world.clock.now()
    for partner in sandbox.partners:
        for provider in partner.accounts:
            result = compare_with_truth(
                engine, sandbox.world, provider, partner.id, partner.slug, now
            )
            assert result.active > 0 and result.mismatches == 0, str(result)
    with engine.connect() as conn:
        assert not conn.execute(
            sa.text(
                "SELECT count(*) - count(DISTINCT (provider, timing_partner_id, event_id, "
                "participant_id)) FROM participants"
            )
        ).scalar()


def kill_group_at_exit(launched: Launched) -> None:
    """Test teardown: whatever happened, nothing it started stays."""
    for proc in [*launched.seen.values()]:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    if launched.proc.poll() is None:
        launched.proc.send_signal(signal.SIGKILL)
        launched.proc.wait(10)


def run_in_terminal(
    env: dict[str, str], *args: str, timeout: float = 180, columns: int = 160, command: str = "sync"
) -> tuple[int, str]:
    """`p88 sync` (or `command`) on a pseudo-terminal (stdout and stderr), as a person at a
    terminal runs it: everything it wrote, escapes included."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        [P88, command, *args],
        env={**env, "TERM": "xterm-256color"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every holder of the terminal has closed it
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")
