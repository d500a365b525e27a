"""Inactive partners in the UI: once a partner is set `active: false`, its partitions get one
run-less materialization saying "inactive since …", so its last failure stops being the status
the asset graph shows for it (partitions are never deleted: that would break its history view).

Nothing is marked twice: a partition whose latest materialization already says inactive is left
alone, so the partitions sensor can call this every tick for the cost of one small event-log
read per inactive partner and asset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import dagster as dg

from p88_pipeline.config.partners import Partner
from p88_pipeline.defs.assets import ASSET_NAMES

INACTIVE = "inactive"


def _already_marked(instance: dg.DagsterInstance, key: dg.AssetKey, slug: str) -> bool:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[slug]), limit=1
    ).records
    if not records:
        return False
    materialization = records[0].asset_materialization
    status = materialization.metadata.get("status") if materialization else None
    return status is not None and status.value == INACTIVE


def inactive_marks(
    instance: dg.DagsterInstance,
    partners: Sequence[Partner],
    registered: set[str],
    now: datetime,
) -> list[dg.AssetMaterialization]:
    """One materialization per asset of each newly inactive, registered partner."""
    marks = []
    for partner in partners:
        if partner.active or partner.slug not in registered:
            continue
        for provider in sorted(partner.accounts):
            for name in ASSET_NAMES:
                key = dg.AssetKey([provider, name])
                if _already_marked(instance, key, partner.slug):
                    continue
                marks.append(
                    dg.AssetMaterialization(
                        asset_key=key,
                        partition=partner.slug,
                        description=f"partner {partner.slug} is inactive: no more syncs",
                        metadata={
                            "partner": partner.slug,
                            "status": INACTIVE,
                            "inactive_since": now.isoformat(timespec="seconds"),
                        },
                    )
                )
    return marks
