"""Environment -> settings. The one place that reads process configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The environment points p88 at something it cannot use (a database URL, a Dagster home).
    The message is one line naming the setting, the cause and the fix; the CLI prints it alone
    and exits with `exit_code`."""

    exit_code = 1


@dataclass(frozen=True)
class Settings:
    """What the pipeline needs from its environment; secrets are not here (see partners.py)."""

    database_url: str | None
    partners_file: Path
    data_dir: Path
    alert_webhook_url: str | None
    dagster_url: str | None
    alert_reminder_minutes: int = 240  # while a partner keeps failing, remind this often
    stop_grace_s: float = 30.0  # after Ctrl-C/SIGTERM, how long partners get to reach a page end
    wait_note_s: float = 30.0  # how often `p88 sync` says what it is still waiting for
    progress_s: float = 10.0  # off a terminal, how often progress lines are printed
    export_dir: Path | None = None  # start lists; None: <data_dir>/exports

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def exports(self) -> Path:
        return self.export_dir or self.data_dir / "exports"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        database_url=env.get("P88_DATABASE_URL") or None,
        partners_file=Path(env.get("P88_PARTNERS_FILE", "partners.yaml")),
        data_dir=Path(env.get("P88_DATA_DIR", ".p88")).resolve(),
        alert_webhook_url=env.get("P88_ALERT_WEBHOOK_URL") or None,
        dagster_url=env.get("P88_DAGSTER_URL") or None,
        alert_reminder_minutes=int(env.get("P88_ALERT_REMINDER_MINUTES") or 240),
        stop_grace_s=float(env.get("P88_STOP_GRACE_SECONDS") or 30),
        wait_note_s=float(env.get("P88_WAIT_NOTE_SECONDS") or 30),
        progress_s=float(env.get("P88_PROGRESS_SECONDS") or 10),
        export_dir=Path(env["P88_EXPORT_DIR"]).resolve() if env.get("P88_EXPORT_DIR") else None,
    )


def dagster_yaml() -> Path:
    """The instance configuration shipped with the package (the checkout's ./dagster.yaml links
    to it), so an installed wheel runs with the same file as a checkout."""
    return Path(__file__).resolve().parent / "dagster.yaml"
