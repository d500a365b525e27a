"""`p88 sync`: run partners through the Dagster jobs (so CLI runs sit in the same run history as
scheduled ones) in supervised worker processes, then print one line per partner and provider
from sync_runs, failures first, with the cause and the fix."""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.commands import summary
from p88_pipeline.commands.console import log_file, worker_setup
from p88_pipeline.commands.instance import InstanceError, get_instance
from p88_pipeline.commands.instance_gaps import gap_note, instance_gaps
from p88_pipeline.commands.progress import Progress
from p88_pipeline.commands.reconcile import UNFINISHED, process_tags, reconcile
from p88_pipeline.commands.supervisor import Reporting, Supervised, Workers, supervise
from p88_pipeline.commands.sync_progress import SAMPLER, SyncProgress
from p88_pipeline.commands.sync_report import nothing_ran, report
from p88_pipeline.config.partners import Partner, find_partner, load_partners
from p88_pipeline.lib.run_tags import SOURCE_TAG, partner_tags
from p88_pipeline.lib.run_tags import run_partner as run_partner_of
from p88_pipeline.providers.registry import names, pools
from p88_pipeline.settings import Settings, load_settings
from p88_pipeline.sync.figures import FIGURES
from p88_pipeline.sync.outcome import plain
from p88_pipeline.warehouse.db import get_engine, resolve_database_url, unreachable
from p88_pipeline.warehouse.embedded import EmbeddedServerError
from p88_pipeline.warehouse.migrations import prepare_warehouse
from p88_pipeline.warehouse.runs import run_rows

log = logging.getLogger("p88.cli")


@dataclass(frozen=True)
class SyncRequest:
    """`p88 sync`'s arguments. `incremental_days=None` leaves the run config's own default."""

    force_full_sync: bool = False
    incremental_days: int | None = None
    timing_partner: str | None = None
    test: bool = False
    provider: str = "all"
    parallel: int = 4
    as_of: str | None = None
    verbose: bool = False
    as_json: bool = False


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RunDisplay:
    """What the operator sees while partners run: the supervisor's lines (`say`), what queued
    partners wait for (`waiting`), and each partner's live progress rows (`live`)."""

    say: Callable[[str], None] = _say
    waiting: Callable[[list[tuple[str, float]]], list[str]] | None = None
    live: SyncProgress | None = None


@dataclass
class PartnerRun:
    partner: Partner
    run_id: str | None
    success: bool
    duration_s: float
    error: str | None = None


def job_name(provider: str) -> str:
    """The job `p88 sync --provider` launches, resolved by name in p88_pipeline.definitions."""
    return "sync" if provider == "all" else f"{provider}_sync"


def providers_of(provider: str) -> Sequence[str]:
    return names() if provider == "all" else (provider,)


def run_config(
    *,
    force_full: bool = False,
    incremental_days: int | None = None,
    as_of: str | None = None,
    verbose: bool = False,
) -> dict[str, Any]:
    settings: dict[str, Any] = {"force_full_sync": force_full}
    if incremental_days is not None:
        settings["incremental_days"] = incremental_days
    if as_of:
        settings["as_of"] = as_of
    # Dagster's console logger prints whole tracebacks: kept for -v, the run history has them.
    level = "INFO" if verbose else "CRITICAL"
    return {
        "resources": {"sync_settings": {"config": settings}},
        "loggers": {"console": {"config": {"log_level": level}}},
    }


def _root_error(error: Any) -> Any:
    while error.cause is not None:
        error = error.cause
    return error


def run_partner(slug: str, job: str, config: dict[str, Any]) -> dict[str, Any]:
    """One partner's Dagster run, in a worker: the run id and, if it failed, the user error's own
    message (not Dagster's wrapper) plus the full text for the log file."""
    from p88_pipeline.definitions import defs

    tags = {**partner_tags(slug, "cli"), **process_tags()}
    try:
        result = defs.resolve_job_def(job).execute_in_process(
            partition_key=slug,
            instance=dg.DagsterInstance.get(),
            run_config=config,
            raise_on_error=False,
            tags=tags,
        )
    except Exception as exc:  # the instance or its database failed before the run could
        return {
            "run_id": None,
            "success": False,
            "cause": f"{type(exc).__name__}: {plain(str(exc))}",
            "detail": traceback.format_exc(),
        }
    errors = [
        (e.step_key, e.step_failure_data.error)
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data and e.step_failure_data.error
    ]
    roots = [_root_error(error) for _, error in errors]
    return {
        "run_id": result.run_id,
        "success": result.success,
        "cause": plain(roots[0].to_string()) if roots else (None if result.success else "failed"),
        "detail": "\n".join(f"{step}:\n{error.to_string()}" for step, error in errors),
    }


def run_partners(
    partners: Sequence[Partner],
    request: SyncRequest,
    *,
    settings: Settings | None = None,
    display: RunDisplay = RunDisplay(),
) -> tuple[list[PartnerRun], Supervised]:
    """One Dagster run per partner, `request.parallel` at a time in worker processes on the
    instance (DAGSTER_HOME) get_instance prepared, each with its own quota limiter; `display`
    shows their progress as they go."""
    settings = settings or load_settings()
    config = run_config(
        force_full=request.force_full_sync,
        incremental_days=request.incremental_days,
        as_of=request.as_of,
        verbose=request.verbose,
    )
    setup = functools.partial(worker_setup, request.verbose, log_file(settings.data_dir))
    tasks = [(p.slug, job_name(request.provider), config) for p in partners]
    live = display.live
    workers = Workers(f"{__name__}:run_partner", setup, request.parallel, SAMPLER if live else None)
    reporting = Reporting(
        display.say,
        display.waiting,
        settings.wait_note_s,
        live.on_progress if live else None,
        live.on_done if live else None,
    )
    state = supervise(tasks, workers, reporting=reporting, grace_s=settings.stop_grace_s)
    runs = []
    for partner, seen in zip(partners, state.outcomes, strict=True):
        result = seen.result
        error = result.get("cause") or seen.note
        runs.append(
            PartnerRun(partner, result.get("run_id"), bool(result.get("success")), 0.0, error)
        )
        runs[-1].duration_s = seen.duration_s
        if result.get("detail"):
            log.info(
                "partner %s run %s failed:\n%s", partner.slug, result["run_id"], result["detail"]
            )
    return runs, state


def run_figures(engine: sa.Engine, run_ids: Sequence[str | None]) -> dict[tuple, dict]:
    """(run_id, provider, partner id) -> the run's sync_runs row (the demo's side-by-side)."""
    rows = run_rows(engine, [r for r in run_ids if r], FIGURES)
    return {(r["run_id"], r["provider"], r["timing_partner_id"]): r for r in rows}


def select_partners(partners: list[Partner], request: SyncRequest) -> tuple[list[Partner], str]:
    """The partners to run, and why none if none (inactive, or no account for the provider)."""
    if request.timing_partner:
        partners = [find_partner(partners, request.timing_partner)]
    elif request.test:
        partners = partners[:1]
    inactive = [p.slug for p in partners if not p.active]
    active = [p for p in partners if p.active]
    wanted = providers_of(request.provider)
    chosen = [p for p in active if any(p.account(x) for x in wanted)]
    if chosen:
        return chosen, ""
    if inactive and not active:
        return [], f"{', '.join(inactive)}: inactive (active: false in the partners file)"
    return [], f"no requested partner has a {request.provider} account"


def waiting_lines(instance: dg.DagsterInstance, running: list[tuple[str, float]]) -> list[str]:
    """What the unfinished partners wait for: a pool slot, and who holds it."""
    storage = instance.event_log_storage
    lines = []
    ours = instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED, tags={SOURCE_TAG: "cli"}))
    ours_by_id = {r.run_id: run_partner_of(r.tags) or "?" for r in ours}
    if storage.supports_global_concurrency_limits:
        for pool in sorted(pools()):
            info = storage.get_concurrency_info(pool)
            queued = sorted(
                {ours_by_id[s.run_id] for s in info.pending_steps if s.run_id in ours_by_id}
                - {ours_by_id.get(s.run_id) for s in info.claimed_slots}
            )
            if queued:
                holders = (
                    ", ".join(f"{s.run_id[:8]} ({s.step_key})" for s in info.claimed_slots)
                    or "none"
                )
                lines.append(
                    f"p88: waiting: {', '.join(queued)} queued for a {pool} slot "
                    f"({len(info.claimed_slots)} of {info.slot_count} held by runs: {holders})"
                )
    return lines  # what the running partners are doing: the progress rows say


def sync_command(request: SyncRequest) -> int:
    settings = load_settings()
    partners = load_partners(settings.partners_file)
    chosen, why_none = select_partners(partners, request)
    if not chosen:
        return nothing_ran(summary.EXIT_INACTIVE, f"nothing to do: {why_none}", request.as_json)
    try:
        engine = get_engine(resolve_database_url(settings))
        prepare_warehouse(engine)
        instance = get_instance(settings)
        for line in reconcile(instance, engine):
            _say(line)
    except (EmbeddedServerError, InstanceError) as exc:  # its one line names cause and fix
        return nothing_ran(summary.EXIT_FAILED, str(exc), request.as_json)
    except (sa.exc.OperationalError, OSError) as exc:
        return nothing_ran(summary.EXIT_FAILED, unreachable(exc), request.as_json)
    if note := gap_note(instance.root_directory, instance_gaps(instance, pools())):
        _say(note)
    instance.add_dynamic_partitions("timing_partner", [p.slug for p in chosen])
    # -v streams the workers' logs to the terminal: plain progress lines, no redrawing over them
    with Progress(
        "p88 sync",
        unit="events",
        every_s=settings.progress_s,
        live=False if request.verbose else None,
    ) as progress:
        display = RunDisplay(
            progress.note,
            functools.partial(waiting_lines, instance),
            SyncProgress(progress, chosen, providers_of(request.provider), engine),
        )
        runs, state = run_partners(chosen, request, settings=settings, display=display)
    if state.stop_signal is not None or state.killed:
        for line in reconcile(instance, engine, row_status="interrupted"):
            _say(line)
    return report(engine, state, partners, log_file(settings.data_dir), request.as_json)
