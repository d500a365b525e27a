"""What a Dagster instance lacks of p88's packaged dagster.yaml, and what its runs go without.

A Dagster user's own DAGSTER_HOME is theirs: p88 runs on it as it is (Dagster's defaults where
its file is silent) rather than rewriting it, says so in one line, and `p88 doctor` gives one
WARN per gap. None of these is needed for a correct sync: each partner's quota limiter paces its
calls and a Postgres advisory lock keeps two syncs of one partner apart whatever Dagster does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from p88_pipeline.lib.run_coordinator import PartnerRunCoordinator
from p88_pipeline.lib.run_tags import PARTNER_TAG
from p88_pipeline.settings import dagster_yaml
from p88_pipeline.warehouse.db import redact_url


@dataclass(frozen=True)
class Gap:
    setting: str  # what p88's dagster.yaml has and this instance lacks
    effect: str  # what runs go without


def partner_run_limit(instance: dg.DagsterInstance) -> bool:
    """One run per partner at a time: a tag limit of 1 per unique `timing_partner` value."""
    queue = instance.get_concurrency_config().run_queue_config
    for limit in (queue.tag_concurrency_limits if queue else None) or []:
        value = limit.get("value")
        per_value = isinstance(value, dict) and value.get("applyLimitPerUniqueValue")
        if limit.get("key") == PARTNER_TAG and per_value and limit.get("limit") == 1:
            return True
    return False


def instance_gaps(instance: dg.DagsterInstance, pools: Iterable[str]) -> list[Gap]:
    """Every setting of p88's dagster.yaml the instance goes without, in the order it matters."""
    gaps = []
    storage = instance.event_log_storage
    limited = (
        storage.supports_global_concurrency_limits
        and instance.get_concurrency_config().pool_config.default_pool_limit is not None
    )
    if not limited:
        have = (
            {p.name for p in storage.get_pool_limits()}
            if storage.supports_global_concurrency_limits
            else set()
        )
        if unlimited := sorted(set(pools) - have):
            gaps.append(
                Gap(
                    "pool limits",
                    f"API steps in flight across runs are not capped ({', '.join(unlimited)})",
                )
            )
    if not partner_run_limit(instance):
        gaps.append(
            Gap(
                "per-partner run limit",
                "daemon runs of one partner may start together; the later one waits for the "
                "partner's lock or ends busy",
            )
        )
    if not isinstance(instance.run_coordinator, PartnerRunCoordinator):
        gaps.append(
            Gap("run coordinator", "runs launched from the UI are not tagged with their partner")
        )
    if not instance.run_monitoring_enabled:
        gaps.append(
            Gap(
                "run monitoring",
                "a crashed daemon run keeps its pool slots and a hung one is not stopped",
            )
        )
    if isinstance(instance.run_storage, SqliteRunStorage):
        gaps.append(
            Gap("Postgres storage", "run history is in SQLite files, readable on this host only")
        )
    return gaps


def storage_label(instance: dg.DagsterInstance) -> str:
    """Where the instance keeps its runs, password hidden, for `p88 dev`'s banner."""
    if isinstance(instance.run_storage, SqliteRunStorage):
        return f"SQLite in {instance.root_directory}"
    url = getattr(instance.run_storage, "postgres_url", None)
    return redact_url(url) if url else type(instance.run_storage).__name__


def gap_fix(home: str) -> str:
    """The command (or edit) that gives the instance p88's settings."""
    config = os.path.join(home, "dagster.yaml")
    if os.path.exists(config):
        return f"merge {dagster_yaml()} into {config}"
    return f"cp {dagster_yaml()} {config} (it stores runs in Postgres at DAGSTER_PG_URL)"


def gap_note(home: str, gaps: list[Gap]) -> str | None:
    """The one line a command prints about them, or None when the instance has them all."""
    if not gaps:
        return None
    names = ", ".join(g.setting for g in gaps)
    return (
        f"p88: DAGSTER_HOME {home} lacks p88's {names}: running without them "
        f"(`p88 doctor` says what each changes); to add them: {gap_fix(home)}"
    )
