"""One race group's sync: read, write, judge and watermark in a single transaction.

Everything a group writes (participants, removals, quarantined records, watermark) commits
together or not at all: a crash, a refused filter (rule 3) or a read the guard refuses (rule 8)
leaves the warehouse exactly as it was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.providers.base import (
    FilterRejectedError,
    Participant,
    ProviderClient,
    UntimedRecordsError,
)
from p88_pipeline.providers.timeparse import iso_utc
from p88_pipeline.sync import cancel, plan
from p88_pipeline.sync.figures import SyncFigures
from p88_pipeline.sync.guard import ReadTally, SuspiciousReadError, suspicious
from p88_pipeline.warehouse.events import clear_inaccessible
from p88_pipeline.warehouse.participants import ParticipantWriter
from p88_pipeline.warehouse.watermarks import Watermark, save_watermarks

log = logging.getLogger("p88.sync")

BATCH_ROWS = 2500  # one RunSignUp page: memory stays flat however many groups run at once
Clock = Callable[[], datetime]
WriterFactory = Callable[[sa.Connection, str, str], ParticipantWriter]


def fmt_time(moment: datetime | None) -> str:
    return iso_utc(moment) if moment else "-"


@dataclass(frozen=True)
class LoadOptions:
    """How stage 3 reads and writes. The defaults are p88's; benchmarks vary them to reproduce
    the old strategies (per-event calls, row-by-row writes) on the same engine."""

    group_by_race: bool = True
    parallel_groups: int = 2  # RunSignUp allows 2 calls in flight per account
    writer: WriterFactory = ParticipantWriter


DEFAULT_LOAD = LoadOptions()


@dataclass(frozen=True)
class SyncScope:
    """Whose sync, from where, into where: one partner, its account's client at one provider,
    and the warehouse. Every stage of a run works inside one."""

    engine: sa.Engine
    client: ProviderClient
    partner: Partner


@dataclass
class GroupRun:
    """What a group needs besides the group itself: shared by every group of a partner's run."""

    engine: sa.Engine
    client: ProviderClient
    partner: Partner
    policy: plan.SyncPolicy
    figures: SyncFigures
    clock: Clock
    options: LoadOptions
    lock: threading.Lock

    def where(self, group: plan.SyncGroup) -> str:
        return f"{self.client.provider} partner {self.partner.slug} race {group.race_id}"


def sync_group(run: GroupRun, group: plan.SyncGroup) -> None:
    """Rule 3: a refused incremental filter falls back to a full read of the same events.
    Rule 8: so does an incremental read that meets records without a modification time (they
    cannot be filtered by time); that read is compared whole (full_compare)."""
    try:
        _sync_group(run, group)
    except FilterRejectedError as exc:
        log.warning("%s: incremental filter refused (%s); full_fallback", run.where(group), exc)
        _sync_group(run, _read_whole(group, plan.FULL_FALLBACK, "incremental filter refused"))
    except UntimedRecordsError as exc:
        log.warning("%s: %s; reading it whole (full_compare)", run.where(group), exc)
        _sync_group(run, _read_whole(group, plan.FULL_COMPARE, "records without modification time"))


def _read_whole(group: plan.SyncGroup, sync_type: str, reason: str) -> plan.SyncGroup:
    return plan.SyncGroup(
        group.race_id, group.events, sync_type, None, {e: reason for e in group.event_ids}
    )


def _types(group: plan.SyncGroup, untimed: set[str]) -> dict[str, str]:
    """Each event's sync type as recorded: full_compare while its records lack times (the next
    plan reads it whole again), plain full once they carry them again."""
    settled = plan.FULL if group.sync_type == plan.FULL_COMPARE else group.sync_type
    return {e: plan.FULL_COMPARE if e in untimed else settled for e in group.event_ids}


def _sync_group(run: GroupRun, group: plan.SyncGroup) -> None:
    client, clock = run.client, run.clock
    started_at = clock()
    provider_started_at = client.server_time()
    for event in group.events:
        log.info(
            "%s event %s: %s sync (%s), modified after %s",
            run.where(group),
            event.event_id,
            group.sync_type,
            group.reasons.get(event.event_id, ""),
            fmt_time(group.modified_after),
        )
    upserted = removed = rejected = 0
    tally = ReadTally()
    untimed: set[str] = set()
    with run.engine.begin() as conn:
        writer = run.options.writer(conn, client.provider, run.partner.id)
        tally.active_before = writer.begin(
            group.event_ids, full=group.sync_type != plan.INCREMENTAL
        )
        batch: list[Participant] = []
        for page in client.iter_participant_pages(group.events, group.modified_after):
            cancel.check()
            batch.extend(page.participants)
            tally.read.update(p.event_id for p in page.participants)
            untimed.update(p.event_id for p in page.participants if p.modified_at is None)
            for record in page.rejected:
                tally.note_rejected(record.event_id, record.reason)
            rejected += writer.reject(page.rejected)
            if len(batch) >= BATCH_ROWS:
                upserted += writer.upsert(batch)
                batch = []
            del page  # not kept while the client reads the next page
        upserted += writer.upsert(batch)
        removed += writer.cancelled
        if group.sync_type == plan.INCREMENTAL:
            assert group.modified_after is not None
            for page in client.iter_removals(group.events, group.modified_after):
                cancel.check()
                tally.read.update(r.event_id for r in page.removals)
                for record in page.rejected:
                    tally.note_rejected(record.event_id, record.reason)
                removed += writer.apply_removals(page.removals)
                rejected += writer.reject(page.rejected)
        else:
            tally.vanished = writer.reconcile_missing(group.event_ids, started_at)
            removed += sum(tally.vanished.values())
        causes = suspicious(tally, run.policy.guard)
        if causes:
            raise SuspiciousReadError(
                "; ".join(
                    f"{client.provider} partner {run.partner.slug} event {event_id}: {cause}"
                    for event_id, cause in causes.items()
                )
                + f"; nothing of race {group.race_id} was written (rule 8: a read that stores "
                "nothing of what the provider returned is a failure)"
            )
        cancel.check()  # last boundary before the commit
        watermark = plan.next_watermark(started_at, provider_started_at, clock())
        types = _types(group, untimed)
        for sync_type in sorted(set(types.values())):
            events = [e for e, t in types.items() if t == sync_type]
            mark = Watermark(watermark, sync_type)
            save_watermarks(conn, client.provider, run.partner.id, events, mark)
        if run.policy.force_full:  # only a forced full run reads races marked inaccessible
            clear_inaccessible(conn, client.provider, run.partner.id, group.event_ids)
    with run.lock:
        run.figures.events_synced += len(group.events)
        run.figures.participants_upserted += upserted
        run.figures.participants_removed += removed
        run.figures.participants_rejected += rejected
        run.figures.sync_types.update(types)
    log.info(
        "%s: %d events %s, %d participants upserted, %d removed, %d rejected, watermark %s",
        run.where(group),
        len(group.events),
        group.sync_type,
        upserted,
        removed,
        rejected,
        fmt_time(watermark),
    )
