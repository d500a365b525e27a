"""`p88 export`: start lists for a person at a terminal, the same files and manifest the
`reports/start_lists` asset writes, from what the warehouse holds now (no API call)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from p88_pipeline.config.partners import find_partner, load_partners
from p88_pipeline.reports.export import ExportSelection, export_start_lists
from p88_pipeline.settings import load_settings
from p88_pipeline.sync.plan import SyncPolicy, future_cutoff
from p88_pipeline.warehouse.db import get_engine, resolve_database_url
from p88_pipeline.warehouse.migrations import prepare_warehouse


def run_export(
    timing_partner: str | None,
    event_id: str | None,
    out: str | None,
    force: bool = False,
    as_of: str | None = None,
) -> int:
    settings = load_settings()
    partners = load_partners(settings.partners_file)
    # Named, a partner is exported even when inactive (its last data); otherwise active ones.
    chosen = (
        [find_partner(partners, timing_partner)]
        if timing_partner
        else [p for p in partners if p.active]
    )
    root = Path(out).resolve() if out else settings.exports
    engine = get_engine(resolve_database_url(settings))
    prepare_warehouse(engine)
    now = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    cutoff = future_cutoff(now, SyncPolicy().grace)
    selection = ExportSelection(event_id, force)
    seen = 0
    for partner in chosen:
        result = export_start_lists(engine, partner, root, cutoff, selection)
        for e in result.written:
            print(f"{partner.slug}: {e.path} ({e.rows} rows, {e.provider} event {e.event_id})")
        print(
            f"{partner.slug}: {len(result.written)} start lists written, "
            f"{result.unchanged} unchanged since their last export  [{result.directory}]"
        )
        seen += len(result.written) + result.unchanged
    if event_id and not seen:
        slugs = ", ".join(p.slug for p in chosen)
        print(f"p88 export: no future event {event_id!r} for {slugs}", file=sys.stderr)
        return 1
    return 0
