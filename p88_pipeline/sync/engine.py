"""The per-partner sync engine: the three stages the Dagster assets wrap, in DESIGN.md's order.

Stage 1 stores the events list; stage 2 picks future events (no API calls); stage 3 syncs each
race group in its own transaction, data and watermark together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.providers.base import (
    AuthError,
    Event,
    InaccessibleError,
    ProviderClient,
    ProviderError,
    QuotaExhaustedError,
    ThrottledError,
)
from p88_pipeline.sync import cancel, live, plan
from p88_pipeline.sync.caps import learning_caps
from p88_pipeline.sync.figures import SyncFailedError, SyncFigures
from p88_pipeline.sync.group import (
    DEFAULT_LOAD,
    Clock,
    GroupRun,
    LoadOptions,
    SyncScope,
    fmt_time,
    sync_group,
)
from p88_pipeline.sync.guard import SuspiciousReadError
from p88_pipeline.sync.memory import return_large_blocks
from p88_pipeline.warehouse.events import (
    PartnerRow,
    active_counts,
    load_events,
    mark_inaccessible,
    retire_missing,
    upsert_events,
    upsert_partner,
)
from p88_pipeline.warehouse.locks import try_advisory_lock
from p88_pipeline.warehouse.watermarks import load_watermarks, untimed_events

__all__ = [
    "Clock",
    "LoadOptions",
    "PartnerBusyError",
    "SyncScope",
    "select_future",
    "sync_participants",
]

log = logging.getLogger("p88.sync")


def utc_now() -> datetime:
    return datetime.now(UTC)


class PartnerBusyError(RuntimeError):
    """Another sync of the same partner and provider holds the advisory lock."""


@contextmanager
def partner_lock(engine: sa.Engine, provider: str, partner: Partner) -> Iterator[None]:
    """Two syncs of one partner and provider never write at once, Dagster or not."""
    with try_advisory_lock(engine, f"p88:{provider}:{partner.id}") as got:
        if not got:
            raise PartnerBusyError(
                f"{provider} partner {partner.slug}: another sync holds its lock; not starting"
            )
        yield


def sync_events(
    engine: sa.Engine, client: ProviderClient, partner: Partner, grace: timedelta | None = None
) -> SyncFigures:
    """Stage 1: read the whole events list and store every event. `grace`: the run's grace
    window, for a client whose list is cut server-side (RunSignUp's start_date)."""
    if grace is not None and hasattr(client, "grace"):
        client.grace = grace
    figures = SyncFigures(client.provider, partner.slug)
    live.track("events", figures, client)
    calls_before = client.calls
    cancel.check()
    with learning_caps(engine, client, partner, figures):
        events = list(client.list_events())
    cancel.check()
    with engine.begin() as conn:
        row = PartnerRow(
            partner.id, partner.slug, partner.name, partner.active, sorted(partner.accounts)
        )
        upsert_partner(conn, row)
        upsert_events(conn, partner.id, events)
        listed_from = getattr(client, "listed_from", lambda: None)()
        listed = [e.event_id for e in events]
        gone = retire_missing(conn, client.provider, partner.id, listed, listed_from)
    if gone:
        log.warning(
            "%s partner %s: %d events no longer in the events list, marked gone (kept, not "
            "synced): %s",
            client.provider,
            partner.slug,
            len(gone),
            ", ".join(gone[:20]),
        )
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


def stored_future(
    engine: sa.Engine, provider: str, partner: Partner, now: datetime, policy: plan.SyncPolicy
) -> tuple[int, list[Event]]:
    """(events stored, those still to come). No API calls: the warehouse is the hand-off
    between the assets, so stage 3 asks again rather than receiving a list."""
    with engine.connect() as conn:
        events = load_events(conn, provider, partner.id, retry_inaccessible=policy.force_full)
    return len(events), plan.future_events(events, now, policy.grace)


def select_future(
    engine: sa.Engine, provider: str, partner: Partner, now: datetime, policy: plan.SyncPolicy
) -> tuple[int, list[Event]]:
    """Stage 2: the stored events still to come, announced once per run."""
    total, future = stored_future(engine, provider, partner, now, policy)
    log.info(
        "%s partner %s: %d events found, %d future (grace %.0f h, now %s)",
        provider,
        partner.slug,
        total,
        len(future),
        policy.grace.total_seconds() / 3600,
        fmt_time(now),
    )
    return total, future


def sync_participants(
    scope: SyncScope,
    future: list[Event],
    policy: plan.SyncPolicy,
    clock: Clock = utc_now,
    options: LoadOptions = DEFAULT_LOAD,
) -> SyncFigures:
    """Stage 3: every future event, grouped per race; a failing group does not stop the others.

    Groups run `parallel_groups` at a time, each in its own transaction; the session's limiter and
    in-flight cap keep the partner inside its quota whatever the parallelism.
    """
    engine, client, partner = scope.engine, scope.client, scope.partner
    started = time.monotonic()
    return_large_blocks()  # a page's buffers freed at once: memory stays one page per read
    figures = SyncFigures(client.provider, partner.slug, events_future=len(future))
    live.track("participants", figures, client)
    calls_before = client.calls
    cancel.check()
    if not future:
        log.info("%s partner %s: no future events, nothing to sync", client.provider, partner.slug)
        return figures
    with (
        partner_lock(engine, client.provider, partner),
        learning_caps(engine, client, partner, figures),
    ):
        with engine.connect() as conn:
            history = plan.ReadHistory(
                load_watermarks(conn, client.provider, partner.id),
                untimed_events(conn, client.provider, partner.id),
            )
            sizes = active_counts(conn, client.provider, partner.id)
        groups = plan.plan_groups(future, history, clock(), policy, options.group_by_race)
        # Biggest races first: the longest reads start early, and their pages are the evidence
        # that lets the smaller reads' short pages end without a page read to prove it.
        groups.sort(key=lambda g: -max(sizes.get(e, 0) for e in g.event_ids))
        stop = threading.Event()
        lock = threading.Lock()
        shared = GroupRun(engine, client, partner, policy, figures, clock, options, lock)

        def run(group: plan.SyncGroup) -> None:
            if stop.is_set() or cancel.requested():
                return
            try:
                sync_group(shared, group)
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
            except InaccessibleError as exc:
                refused = (
                    f"the provider refuses this race to the partner ({exc}); marked "
                    "inaccessible: later runs skip it until the events list offers it again"
                )
                with engine.begin() as conn:
                    mark_inaccessible(conn, client.provider, partner.id, group.event_ids, refused)
                with lock:
                    figures.errors.append({**_error(group, exc), "error": refused})
                log.error(
                    "%s partner %s race %s: %s",
                    client.provider,
                    partner.slug,
                    group.race_id,
                    refused,
                )
            except (ProviderError, SuspiciousReadError, sa.exc.DBAPIError, ValueError) as exc:
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
    compared = sorted(e for e, t in figures.sync_types.items() if t == plan.FULL_COMPARE)
    if compared:  # once per run, not per row
        log.warning(
            "%s partner %s: %d events read whole and compared with what is stored, their "
            "records carry no modification time: %s",
            client.provider,
            partner.slug,
            len(compared),
            ", ".join(compared),
        )
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
