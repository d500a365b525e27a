"""What `p88 sync` shows while partners run: one progress row per partner and provider, fed by
the figures the workers sample from their running stages (sync.live) and closed with the
status the run recorded in sync_runs as each partner ends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from p88_pipeline.commands.progress import WAITING, Progress
from p88_pipeline.commands.supervisor import Outcome
from p88_pipeline.config.partners import Partner
from p88_pipeline.sync.figures import FIGURES
from p88_pipeline.warehouse.runs import run_rows

SAMPLER = "p88_pipeline.sync.live:snapshot"  # run in the workers, with the partner's slug


def figures_text(calls: int, budget: int | None, row: Mapping[str, Any]) -> str:
    """Rows written (removed, rejected when there are any) and calls against the hourly budget."""
    parts = [f"rows {row.get('rows') or row.get('participants_upserted') or 0}"]
    for name in ("removed", "rejected"):
        count = row.get(name, row.get(f"participants_{name}")) or 0
        if count:
            parts.append(f"{name} {count}")
    parts.append(f"calls {calls}" + (f"/{budget} per h" if budget else ""))
    return ", ".join(parts)


class SyncProgress:
    """The bridge between the supervisor's callbacks and a Progress display."""

    def __init__(
        self,
        progress: Progress,
        partners: Sequence[Partner],
        providers: Sequence[str],
        engine: sa.Engine,
    ) -> None:
        self.progress, self.engine = progress, engine
        self.keys: dict[str, dict[str, str]] = {}  # slug -> provider -> row key
        self.budgets: dict[str, int] = {}
        for partner in partners:
            for provider in providers:
                account = partner.account(provider)
                if account is None:
                    continue
                key = f"{partner.slug} {provider}"  # rich aligns the columns itself
                self.keys.setdefault(partner.slug, {})[provider] = key
                self.budgets[key] = account.quota_per_hour
                progress.update(
                    key, status=WAITING, text=figures_text(0, account.quota_per_hour, {})
                )

    def on_progress(self, slug: str, value: Mapping[str, Mapping[str, Any]]) -> None:
        for provider, row in value.items():
            key = self.keys.get(slug, {}).get(provider)
            if key is None:
                continue
            text = figures_text(row["calls"], self.budgets[key], row)
            if "events_future" not in row:  # stage 1: the events list
                found = row["events_total"]
                text = (f"{found} events found, " if found else "") + text
                self.progress.update(key, text=text, status="events list")
                continue
            self.progress.update(
                key,
                done=row["events_synced"],
                total=row["events_future"],
                text=text,
                status="synced" if row["done"] else "syncing",
            )

    def on_done(self, outcome: Outcome) -> None:
        """The partner's rows, closed with what its run recorded (or why it recorded nothing)."""
        keys = self.keys.get(outcome.slug, {})
        run_id = outcome.result.get("run_id")
        try:
            found = run_rows(self.engine, [run_id], FIGURES) if run_id else []
        except sa.exc.SQLAlchemyError:  # the database went away: the summary says what it can
            found = []
        rows = {r["provider"]: r for r in found}
        for provider, key in keys.items():
            row = rows.get(provider)
            if row is None:
                ok = outcome.result.get("success")
                self.progress.finish(key, "skipped" if ok else "failed")
                continue
            self.progress.update(key, done=row["events_synced"], total=row["events_future"])
            text = figures_text(row["api_calls"] or 0, self.budgets[key], row)
            self.progress.finish(key, row["status"], text=text)
