"""The per-partner sync engine: the three stages the Dagster assets wrap, in DESIGN.md's order.

Stage 1 stores the events list; stage 2 picks future events (no API calls); stage 3 syncs each
race group in its own transaction, data and watermark together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from p88_pipeline.partners import Partner
from p88_pipeline.providers.base import (
    AuthError,
    Event,
    FilterRejectedError,
    Participant,
    ProviderClient,
    ProviderError,
    QuotaExhaustedError,
    ThrottledError,
)
from p88_pipeline.providers.timeparse import iso_utc
from p88_pipeline.sync import cancel, plan
from p88_pipeline.sync.figures import SyncFailedError, SyncFigures
from p88_pipeline.warehouse.events import load_events, upsert_events, upsert_partner
from p88_pipeline.warehouse.participants import ParticipantWriter
from p88_pipeline.warehouse.watermarks import load_watermarks, save_watermarks

log = logging.getLogger("p88.sync")

BATCH_ROWS = 2500  # one RunSignUp page: memory stays flat however many groups run at once
Clock = Callable[[], datetime]
WriterFactory = Callable[[sa.Connection, str, str], ParticipantWriter]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _fmt(moment: datetime | None) -> str:
    return iso_utc(moment) if moment else "-"


class PartnerBusyError(RuntimeError):
    """Another sync of the same partner and provider holds the advisory lock."""


@contextmanager
def partner_lock(engine: sa.Engine, provider: str, partner: Partner) -> Iterator[None]:
    """Postgres advisory lock: two syncs of one partner never write at once, Dagster or not."""
    # Autocommit: a session lock held by a connection that is not "idle in transaction" (which
    # idle_in_transaction_session_timeout would end, silently releasing the lock).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        key = f"p88:{provider}:{partner.id}"
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key})
        if not got.scalar():
            raise PartnerBusyError(
                f"{provider} partner {partner.slug}: another sync holds its lock; not starting"
            )
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})


def sync_events(engine: sa.Engine, client: ProviderClient, partner: Partner) -> SyncFigures:
    """Stage 1: read the whole events list and store every event."""
    figures = SyncFigures(client.provider, partner.slug)
    calls_before = client.calls
    cancel.check()
    events = list(client.list_events())
    cancel.check()
    with engine.begin() as conn:
        upsert_partner(
            conn, partner.id, partner.slug, partner.name, partner.active, sorted(partner.accounts)
        )
        upsert_events(conn, partner.id, events)
    figures.events_total = len(events)
    figures.api_calls = client.calls - calls_before
    log.info(
        "%s partner %s: %d events found (%d API calls)",
        client.provider,
        partner.slug,
        len(events),
        figures.api_calls,
    )
    return figures


def select_future(
    engine: sa.Engine,
    provider: str,
    partner: Partner,
    now: datetime,
    policy: plan.SyncPolicy,
    *,
    announce: bool = True,
) -> tuple[int, list[Event]]:
    """Stage 2: the stored events still to come. No API calls. Stage 3 asks again (one query:
    the warehouse is the hand-off between assets) with `announce=False`, so it logs once."""
    with engine.connect() as conn:
        events = load_events(conn, provider, partner.id)
    future = plan.future_events(events, now, policy.grace)
    if announce:
        log.info(
            "%s partner %s: %d events found, %d future (grace %.0f h, now %s)",
            provider,
            partner.slug,
            len(events),
            len(future),
            policy.grace.total_seconds() / 3600,
            _fmt(now),
        )
    return len(events), future


@dataclass(frozen=True)
class LoadOptions:
    """How stage 3 reads and writes. The defaults are p88's; benchmarks vary them to reproduce
    the old strategies (per-event calls, row-by-row writes) on the same engine."""

    group_by_race: bool = True
    parallel_groups: int = 2  # RunSignUp allows 2 calls in flight per account
    writer: WriterFactory = ParticipantWriter


def sync_participants(
    engine: sa.Engine,
    client: ProviderClient,
    partner: Partner,
    future: list[Event],
    policy: plan.SyncPolicy,
    clock: Clock = utc_now,
    options: LoadOptions = LoadOptions(),
) -> SyncFigures:
    """Stage 3: every future event, grouped per race; a failing group does not stop the others.

    Groups run `parallel_groups` at a time, each in its own transaction; the session's limiter and
    in-flight cap keep the partner inside its quota whatever the parallelism.
    """
    started = time.monotonic()
    figures = SyncFigures(client.provider, partner.slug, events_future=len(future))
    calls_before = client.calls
    cancel.check()
    if not future:
        log.info("%s partner %s: no future events, nothing to sync", client.provider, partner.slug)
        return figures
    with partner_lock(engine, client.provider, partner):
        with engine.connect() as conn:
            watermarks = load_watermarks(conn, client.provider, partner.id)
        groups = plan.plan_groups(future, watermarks, clock(), policy, options.group_by_race)
        stop = threading.Event()
        lock = threading.Lock()

        def run(group: plan.SyncGroup) -> None:
            if stop.is_set() or cancel.requested():
                return
            try:
                _sync_group_with_fallback(
                    engine, client, partner, group, figures, clock, options, lock
                )
            except AuthError:
                stop.set()
                raise
            except cancel.SyncInterruptedError as exc:
                stop.set()
                with lock:
                    figures.status = "interrupted"
                    figures.errors.append(_error(group, exc))
            except (QuotaExhaustedError, ThrottledError) as exc:
                stop.set()
                with lock:
                    figures.status = "quota_exhausted"
                    figures.errors.append(_error(group, exc))
                log.warning(
                    "%s partner %s: budget spent, stopping cleanly; finished events keep "
                    "their watermarks: %s",
                    client.provider,
                    partner.slug,
                    exc,
                )
            except (ProviderError, sa.exc.DBAPIError, ValueError) as exc:
                with lock:
                    figures.errors.append(_error(group, exc))
                log.error(
                    "%s partner %s race %s events %s: sync failed, watermark kept: %s",
                    client.provider,
                    partner.slug,
                    group.race_id,
                    ",".join(group.event_ids),
                    exc,
                )

        with ThreadPoolExecutor(max(1, options.parallel_groups)) as pool:
            for future_result in [pool.submit(run, g) for g in groups]:
                future_result.result()  # re-raises AuthError
    figures.api_calls = client.calls - calls_before
    figures.duration_s = round(time.monotonic() - started, 3)
    types = figures.type_counts
    log.info(
        "%s partner %s: done in %.1fs: %d of %d future events synced (%s), %d upserted, "
        "%d removed, %d rejected, %d API calls",
        client.provider,
        partner.slug,
        figures.duration_s,
        figures.events_synced,
        figures.events_future,
        ", ".join(f"{n} {t}" for t, n in sorted(types.items())) or "none",
        figures.participants_upserted,
        figures.participants_removed,
        figures.participants_rejected,
        figures.api_calls,
    )
    if cancel.requested() and figures.events_synced < figures.events_future:
        figures.status = "interrupted"  # races not started are left for the next run
    if figures.errors and figures.status == "success":
        figures.status = "failed"
    if figures.status in ("failed", "interrupted"):
        raise SyncFailedError(figures)
    return figures


def _error(group: plan.SyncGroup, exc: BaseException) -> dict:
    return {
        "race_id": group.race_id,
        "event_ids": group.event_ids,
        "error": f"{type(exc).__name__}: {exc}",
    }


def _sync_group_with_fallback(
    engine: sa.Engine,
    client: ProviderClient,
    partner: Partner,
    group: plan.SyncGroup,
    figures: SyncFigures,
    clock: Clock,
    options: LoadOptions,
    lock: threading.Lock,
) -> None:
    """Rule 3: a refused incremental filter falls back to a full read of the same events."""
    try:
        _sync_group(engine, client, partner, group, figures, clock, options, lock)
    except FilterRejectedError as exc:
        log.warning(
            "%s partner %s race %s: incremental filter refused (%s); full_fallback",
            client.provider,
            partner.slug,
            group.race_id,
            exc,
        )
        fallback = plan.SyncGroup(
            group.race_id,
            group.events,
            plan.FULL_FALLBACK,
            None,
            {e: "incremental filter refused" for e in group.event_ids},
        )
        _sync_group(engine, client, partner, fallback, figures, clock, options, lock)


def _sync_group(
    engine: sa.Engine,
    client: ProviderClient,
    partner: Partner,
    group: plan.SyncGroup,
    figures: SyncFigures,
    clock: Clock,
    options: LoadOptions,
    lock: threading.Lock,
) -> None:
    started_at = clock()
    provider_started_at = client.server_time()
    for event in group.events:
        log.info(
            "%s partner %s event %s (race %s): %s sync (%s), modified after %s",
            client.provider,
            partner.slug,
            event.event_id,
            group.race_id,
            group.sync_type,
            group.reasons.get(event.event_id, ""),
            _fmt(group.modified_after),
        )
    upserted = removed = rejected = 0
    with engine.begin() as conn:
        writer = options.writer(conn, client.provider, partner.id)
        writer.begin(group.event_ids, full=group.sync_type != plan.INCREMENTAL)
        batch: list[Participant] = []
        for page in client.iter_participant_pages(group.events, group.modified_after):
            cancel.check()
            batch.extend(page.participants)
            rejected += writer.reject(page.rejected)
            if len(batch) >= BATCH_ROWS:
                upserted += writer.upsert(batch)
                batch = []
        upserted += writer.upsert(batch)
        removed += writer.cancelled
        if group.sync_type == plan.INCREMENTAL:
            assert group.modified_after is not None
            for page in client.iter_removals(group.events, group.modified_after):
                cancel.check()
                removed += writer.apply_removals(page.removals)
                rejected += writer.reject(page.rejected)
        else:
            removed += writer.reconcile_missing(group.event_ids, started_at)
        cancel.check()  # last boundary before the commit
        watermark = plan.next_watermark(started_at, provider_started_at, clock())
        save_watermarks(
            conn, client.provider, partner.id, group.event_ids, watermark, group.sync_type
        )
    with lock:
        figures.events_synced += len(group.events)
        figures.participants_upserted += upserted
        figures.participants_removed += removed
        figures.participants_rejected += rejected
        figures.sync_types.update({e: group.sync_type for e in group.event_ids})
    log.info(
        "%s partner %s race %s: %d events %s, %d participants upserted, %d removed, "
        "%d rejected, watermark %s",
        client.provider,
        partner.slug,
        group.race_id,
        len(group.events),
        group.sync_type,
        upserted,
        removed,
        rejected,
        _fmt(watermark),
    )
