"""The Dagster instance the CLI records its runs in: the repo's dagster.yaml on Postgres.

Same file as `p88 dev` and production; only DAGSTER_PG_URL differs (embedded by default).
"""

from __future__ import annotations

import os
import shutil

import dagster as dg

from p88_pipeline.settings import PROJECT_ROOT, Settings, load_settings
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
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", os.path.join(home, "dagster.yaml"))
        os.environ["DAGSTER_HOME"] = home
    return home


def get_instance(settings: Settings | None = None) -> dg.DagsterInstance:
    prepare_dagster_home(settings)
    return dg.DagsterInstance.get()
