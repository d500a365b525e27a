"""The Dagster instance the CLI records its runs in: the repo's dagster.yaml on Postgres.

Same file as `p88 dev` and production; only DAGSTER_PG_URL differs (embedded by default).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterable

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.settings import Settings, dagster_yaml, load_settings
from p88_pipeline.warehouse.db import normalize_url
from p88_pipeline.warehouse.embedded import embedded_url


def prepare_dagster_home(settings: Settings | None = None) -> str:
    """Point DAGSTER_HOME at .p88/dagster (unless set) with our dagster.yaml and a storage URL."""
    settings = settings or load_settings()
    if not os.environ.get("DAGSTER_PG_URL"):
        os.environ["DAGSTER_PG_URL"] = (
            normalize_url(settings.database_url)
            if settings.database_url
            else embedded_url(settings.pgdata, database="dagster")
        )
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(settings.data_dir / "dagster")
        os.makedirs(home, exist_ok=True)
        shutil.copyfile(dagster_yaml(), os.path.join(home, "dagster.yaml"))
        os.environ["DAGSTER_HOME"] = home
    return home


log = logging.getLogger("p88.instance")


def asset_pools() -> set[str]:
    """The pools the assets claim slots in (`pool=` on the API-calling assets)."""
    from p88_pipeline.definitions import defs

    return {pool for node in defs.resolve_asset_graph().asset_nodes for pool in node.pools or ()}


def ensure_pools(instance: dg.DagsterInstance, pools: Iterable[str], attempts: int = 5) -> None:
    """Create each pool's `concurrency_limits` row once, before any run needs it.

    Dagster creates the row lazily when a step first claims a slot; parallel first runs on
    Postgres race on that INSERT and the losers fail with a UniqueViolation (its fallback UPDATE
    runs in the aborted transaction). Here one process creates the rows up front; if another
    p88 process wins the same race, the retry finds them present.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
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
        raise RuntimeError(f"Dagster pools {', '.join(missing)} could not be created")


def open_instance(settings: Settings | None = None) -> dg.DagsterInstance:
    """The configured instance, pools untouched: for callers that only read it (`p88 doctor`),
    which need not import every definition to learn the pools."""
    prepare_dagster_home(settings)
    return dg.DagsterInstance.get()


def get_instance(settings: Settings | None = None) -> dg.DagsterInstance:
    """The instance with its pools ready, so runs started side by side never race to make them."""
    instance = open_instance(settings)
    ensure_pools(instance, asset_pools())
    return instance
