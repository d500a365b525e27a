"""Dagster resources: the warehouse, the partners file, and the per-run sync settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from p88_pipeline.config.partners import Partner, find_partner, load_partners
from p88_pipeline.settings import load_settings
from p88_pipeline.sync.engine import Clock, utc_now
from p88_pipeline.sync.guard import GuardPolicy
from p88_pipeline.sync.plan import SyncPolicy, as_utc, future_cutoff
from p88_pipeline.warehouse.db import get_engine, normalize_url, resolve_database_url
from p88_pipeline.warehouse.migrations import prepare_warehouse


@lru_cache(maxsize=8)
def _prepared_engine(url: str) -> sa.Engine:
    engine = get_engine(url)
    prepare_warehouse(engine)  # migrate + refuse a schema without its UNIQUE constraints
    return engine


class WarehouseResource(dg.ConfigurableResource):
    """PostgreSQL. Unset URL means P88_DATABASE_URL from the environment, else the embedded one."""

    database_url: str | None = None

    def url(self) -> str:
        return normalize_url(self.database_url) if self.database_url else resolve_database_url()

    def get_engine(self) -> sa.Engine:
        return _prepared_engine(self.url())


class PartnersResource(dg.ConfigurableResource):
    """partners.yaml; None means P88_PARTNERS_FILE (default ./partners.yaml)."""

    partners_file: str | None = None

    def load(self) -> list[Partner]:
        return load_partners(self.partners_file or load_settings().partners_file)

    def get(self, key: str) -> Partner:
        return find_partner(self.load(), key)


class SyncSettingsResource(dg.ConfigurableResource):
    """How a run syncs. One block of run config for all assets; full_refresh sets force."""

    force_full_sync: bool = Field(default=False, description="full read of every future event")
    incremental_days: int = Field(
        default=SyncPolicy.incremental_days, description="older watermarks force a full sync"
    )
    overlap_minutes: float = Field(default=10, description="re-read window before the watermark")
    grace_days: float = Field(default=1, description="events started this recently still sync")
    max_rejected_share: float = Field(
        default=GuardPolicy.max_rejected_share,
        description="an event read with more than this share of rows rejected fails (rule 8)",
    )
    max_vanished_share: float = Field(
        default=GuardPolicy.max_vanished_share,
        description="a full read that would soft-delete more than this share of an event's "
        "active registrations, unannounced, fails (rule 8)",
    )
    guard_min_rows: int = Field(
        default=GuardPolicy.min_rows, description="rows from which those shares are judged"
    )
    due_events: list[str] | None = Field(
        default=None,
        description="provider:event_id of the events a due run syncs (rule 7, set by the "
        "stale_watermarks sensor); unset: every future event",
    )
    events_list_max_age_minutes: float | None = Field(
        default=None,
        description="a due run re-reads the events list only when its last read is older than "
        "this; unset: always read it (nightly, full_refresh, new partners, the CLI)",
    )
    as_of: str | None = Field(
        default=None, description="ISO instant to use as 'now' (sandbox time travel); unset: clock"
    )

    def policy(self) -> SyncPolicy:
        return SyncPolicy(
            force_full=self.force_full_sync,
            incremental_days=self.incremental_days,
            overlap=timedelta(minutes=self.overlap_minutes),
            grace=timedelta(days=self.grace_days),
            guard=GuardPolicy(
                self.max_rejected_share, self.max_vanished_share, self.guard_min_rows
            ),
        )

    def clock(self) -> Clock:
        if not self.as_of:
            return utc_now
        fixed = datetime.fromisoformat(self.as_of.replace("Z", "+00:00"))
        if fixed.tzinfo is None:
            fixed = fixed.replace(tzinfo=UTC)
        return lambda: fixed

    def due_for(self, provider: str) -> set[str] | None:
        """The event ids this run syncs on `provider`; None: every future event."""
        if self.due_events is None:
            return None
        return {e.split(":", 1)[1] for e in self.due_events if e.split(":", 1)[0] == provider}

    def now_and_cutoff(self) -> tuple[datetime, datetime]:
        """This run's "now" (UTC) and the start before which an event is past (rule 1's grace):
        what every check, report and sensor that reads future events needs, spelled once."""
        now = as_utc(self.clock()())
        return now, future_cutoff(now, self.policy().grace)
