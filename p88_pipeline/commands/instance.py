"""The Dagster instance the CLI records its runs in.

Unless DAGSTER_HOME is set, p88's own home (.p88/dagster) with the packaged dagster.yaml on
Postgres: the same file as `p88 dev` and production, only DAGSTER_PG_URL differs. A Dagster
user's own DAGSTER_HOME is used as it is (instance_gaps.py says what it lacks); one it cannot
use at all is refused in one line (InstanceError) naming DAGSTER_HOME, the cause and the fix.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator

import dagster as dg
import sqlalchemy as sa
import yaml

from p88_pipeline.providers.registry import pools
from p88_pipeline.settings import ConfigurationError, Settings, dagster_yaml, load_settings
from p88_pipeline.warehouse.db import checked_url, resolve_database_url
from p88_pipeline.warehouse.embedded import embedded_url

log = logging.getLogger("p88.instance")


class InstanceError(ConfigurationError):
    """The Dagster instance cannot be used: one line, the cause (naming DAGSTER_HOME or its
    file) and the fix, also apart for `p88 doctor`'s detail and action."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(f"Dagster instance: {cause}; {fix}")
        self.cause, self.fix = cause, fix


def _own_file_fix(home: str) -> str:
    return f"fix it, or copy p88's: cp {dagster_yaml()} {os.path.join(home, 'dagster.yaml')}"


def prepare_dagster_home(settings: Settings | None = None) -> str:
    """Point DAGSTER_HOME at .p88/dagster (unless set) with our dagster.yaml and a storage URL."""
    settings = settings or load_settings()
    if os.environ.get("DAGSTER_PG_URL"):  # psycopg2's scheme, or a one-line refusal
        os.environ["DAGSTER_PG_URL"] = checked_url(os.environ["DAGSTER_PG_URL"], "DAGSTER_PG_URL")
    else:
        os.environ["DAGSTER_PG_URL"] = (
            resolve_database_url(settings)
            if settings.database_url
            else embedded_url(settings.pgdata, database="dagster")
        )
    home = os.environ.get("DAGSTER_HOME")
    if home:
        check_user_home(home)
        return home
    home = str(settings.data_dir / "dagster")
    try:
        os.makedirs(home, exist_ok=True)
        shutil.copyfile(dagster_yaml(), os.path.join(home, "dagster.yaml"))
    except OSError as exc:
        raise InstanceError(
            f"cannot write p88's DAGSTER_HOME {home}: {exc.strerror}",
            "set P88_DATA_DIR to a writable directory, or DAGSTER_HOME to your own",
        ) from exc
    os.environ["DAGSTER_HOME"] = home
    return home


def check_user_home(home: str) -> None:
    """What Dagster would otherwise report as a traceback mid-way: a home that is missing, not a
    directory, read-only, or whose dagster.yaml is not YAML."""
    if not os.path.exists(home):
        raise InstanceError(
            f"DAGSTER_HOME {home} does not exist",
            f"create it (mkdir -p {home}), or unset DAGSTER_HOME to use p88's own",
        )
    if not os.path.isdir(home):
        raise InstanceError(
            f"DAGSTER_HOME {home} is not a directory",
            "point DAGSTER_HOME at a directory, or unset it to use p88's own",
        )
    try:
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as exc:  # Dagster writes run history, logs and compute logs there
        raise InstanceError(
            f"cannot write in DAGSTER_HOME {home}: {exc.strerror}",
            "point DAGSTER_HOME at a writable directory, or unset it to use p88's own",
        ) from exc
    config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(config):
        return
    try:
        with open(config) as f:
            yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        cause = getattr(exc, "problem", None) or getattr(exc, "strerror", None) or str(exc)
        raise InstanceError(f"{config} cannot be read: {cause}{at}", _own_file_fix(home)) from exc


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _config_problem(exc: BaseException) -> str:
    """Dagster's config error in a few words: its first evaluation error, without the schema
    it prints after it, or the unset environment variable a post-processing error names."""
    errors = getattr(exc, "errors", None) or []
    text = getattr(errors[0], "message", "") if errors else ""
    if "PostProcessingError: " in text:
        text = text.split("PostProcessingError: ", 1)[1]
        return text.split(". ", 1)[0]
    return (text.split(" Expected: ", 1)[0] or _first_line(exc)).rstrip(".")


def open_instance(settings: Settings | None = None) -> dg.DagsterInstance:
    """The configured instance, its storage answering; pools untouched: for callers that only
    read it (`p88 doctor`)."""
    home = prepare_dagster_home(settings)
    config = os.path.join(home, "dagster.yaml")
    try:
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)  # storage is opened lazily: fail here, not in a run
    except Exception as exc:
        down = next(
            (e for e in _chain(exc) if isinstance(e, sa.exc.OperationalError | OSError)), None
        )
        if down is not None:
            raise InstanceError(
                f"the storage of DAGSTER_HOME {home} is unreachable: {_first_line(down)}",
                f"check the storage in {config} (DAGSTER_PG_URL)",
            ) from exc
        raise InstanceError(  # Dagster's config errors: an unknown key, an unset env var
            f"{config} is not a usable instance configuration: {_config_problem(exc)}",
            _own_file_fix(home),
        ) from exc
    return instance


def ensure_pools(instance: dg.DagsterInstance, pools: Iterable[str], attempts: int = 5) -> None:
    """Create each pool's `concurrency_limits` row once, before any run needs it.

    Dagster creates the row lazily when a step first claims a slot; parallel first runs on
    Postgres race on that INSERT and the losers fail with a UniqueViolation (its fallback UPDATE
    runs in the aborted transaction). Here one process creates the rows up front; if another
    p88 process wins the same race, the retry finds them present. An instance without a default
    pool limit creates no rows (its pools are unlimited): there is nothing to race on.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    if instance.get_concurrency_config().pool_config.default_pool_limit is None:
        return
    for attempt in range(attempts):
        missing = sorted(set(pools) - storage.get_concurrency_keys())
        if not missing:
            return
        try:
            for pool in missing:
                storage.initialize_concurrency_limit_to_default(pool)
                log.debug("pool %s initialised to the instance default", pool)
        except sa.exc.IntegrityError:
            time.sleep(0.1 * (attempt + 1))  # another process created it meanwhile: look again
    missing = sorted(set(pools) - storage.get_concurrency_keys())
    if missing:
        raise InstanceError(
            f"pools {', '.join(missing)} could not be created in the storage of DAGSTER_HOME "
            f"{instance.root_directory}",
            f"create them by hand: dagster instance concurrency set {missing[0]} 4",
        )


def get_instance(settings: Settings | None = None) -> dg.DagsterInstance:
    """The instance with its pools ready, so runs started side by side never race to make them."""
    instance = open_instance(settings)
    ensure_pools(instance, pools())
    return instance
