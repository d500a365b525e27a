"""`p88 doctor`: what an operator runs with real credentials before the first sync and after any
provider change. Thin glue: the warehouse's and Dagster's checks here, each account's probe in
its provider (`ProviderSpec.probe`, judged by providers/probe.py); learned page caps are saved for
the sync. Exit 1 on any FAIL. While it runs, one progress row per account on stderr."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.commands.instance import InstanceError, open_instance
from p88_pipeline.commands.instance_gaps import gap_fix, instance_gaps
from p88_pipeline.commands.progress import WAITING, Progress
from p88_pipeline.commands.reconcile import dead_runs
from p88_pipeline.config.partners import Partner, PartnerConfigError, find_partner, load_partners
from p88_pipeline.providers.base import ProviderConfigError
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import RetryPolicy, Transport
from p88_pipeline.providers.probe import FAIL, MAX_CALLS, PASS, WARN, Check, ProbeTarget, Watch
from p88_pipeline.providers.registry import pools, spec_for, specs
from p88_pipeline.settings import load_settings
from p88_pipeline.sync.plan import SyncPolicy, future_cutoff
from p88_pipeline.warehouse.db import DatabaseUrlError, get_engine, resolve_database_url
from p88_pipeline.warehouse.embedded import EmbeddedServerError
from p88_pipeline.warehouse.events import largest_future_event
from p88_pipeline.warehouse.migrations import missing_unique_keys, pending_migrations
from p88_pipeline.warehouse.page_caps import save_page_caps
from p88_pipeline.warehouse.runs import calls_in_last_hour

# A doctor answers in seconds: two attempts, short timeouts (a sync retries harder).
DOCTOR_RETRY = RetryPolicy(attempts=2, backoff_s=0.5, backoff_max_s=2.0, timeout_s=(5.0, 20.0))
QUOTA_WARN_SHARE = 0.8
OWN_CHECKS = 3  # the doctor's own per account: credentials, quota, API calls


@dataclass(frozen=True)
class Line:
    scope: str  # "warehouse", "dagster" or "<partner>/<provider>"
    check: str
    status: str
    detail: str
    action: str = ""


@dataclass(frozen=True)
class Probing:
    """How the doctor reaches each account: one credentials source, clock and retry policy for
    all of them, so their results compare. `now=None`: the host's clock."""

    environ: Mapping[str, str] | None = None
    now: datetime | None = None
    retry: RetryPolicy = DOCTOR_RETRY


@dataclass(frozen=True)
class Stores:
    """What the doctor checks before any account: the warehouse (None when it could not be
    opened, `engine_error` saying why) and Dagster's instance, opened only when checked."""

    engine: sa.Engine | None
    get_instance: Callable[[], dg.DagsterInstance]
    engine_error: str = ""


def _lines(scope: str, checks: Sequence[Check]) -> list[Line]:
    return [Line(scope, c.check, c.status, c.detail, c.action) for c in checks]


def warehouse_checks(engine: sa.Engine | None, error: str = "") -> tuple[list[Check], bool]:
    """Reachable, migrated, UNIQUE keys present; True when the sync could write there."""
    if engine is None:
        return [
            Check("reachable", FAIL, error[:200], "check P88_DATABASE_URL (p88 db status)")
        ], False
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        pending = pending_migrations(engine)
    except sa.exc.SQLAlchemyError as exc:
        detail = str(exc.orig if hasattr(exc, "orig") else exc).splitlines()[0][:200]
        return [Check("reachable", FAIL, detail, "check P88_DATABASE_URL (p88 db status)")], False
    checks = [Check("reachable", PASS, engine.url.render_as_string(hide_password=True))]
    if pending:
        checks.append(
            Check("migrations", FAIL, f"not applied: {', '.join(pending)}", "p88 migrate")
        )
        return checks, False
    checks.append(Check("migrations", PASS, "all applied"))
    missing = missing_unique_keys(engine)
    if missing:
        checks.append(
            Check("UNIQUE constraints", FAIL, "missing: " + "; ".join(missing), "p88 migrate")
        )
        return checks, False
    checks.append(Check("UNIQUE constraints", PASS, "every upsert target has one"))
    return checks, True


def dagster_checks(get_instance: Callable[[], dg.DagsterInstance]) -> list[Check]:
    """The instance's storage answers; what it lacks of p88's dagster.yaml, one WARN each; runs
    left behind by dead processes are named (commands/reconcile.py's rule; `p88 sync`
    reconciles them before it starts)."""
    try:
        instance = get_instance()
        dead = dead_runs(instance)
    except InstanceError as exc:  # unusable: its cause and its fix
        return [Check("storage", FAIL, exc.cause, exc.fix)]
    except DatabaseUrlError as exc:  # p88's own home stores in the warehouse's server
        return [Check("storage", FAIL, str(exc), "fix P88_DATABASE_URL, or set DAGSTER_PG_URL")]
    except Exception as exc:  # any other storage failure is the finding itself
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
        return [
            Check("storage", FAIL, detail, "check DAGSTER_PG_URL / DAGSTER_HOME (p88 db status)")
        ]
    home = instance.root_directory
    checks = [Check("storage", PASS, f"instance reachable (DAGSTER_HOME {home})")]
    fix = gap_fix(home)
    checks += [Check(g.setting, WARN, g.effect, fix) for g in instance_gaps(instance, pools())]
    if dead:
        checks.append(
            Check(
                "left-behind runs",
                WARN,
                f"{len(dead)} run(s) STARTED by processes that are gone",
                "p88 sync marks them failed and frees their slots before it starts",
            )
        )
    return checks


def account_checks(
    engine: sa.Engine | None,
    partner: Partner,
    provider: str,
    probing: Probing = Probing(),
    watch: Watch | None = None,
) -> list[Check]:
    """Credentials, quota, the provider's probe, the calls it took; learned caps saved.
    `watch` hears of each step and check as it happens."""
    environ, now = probing.environ, probing.now or datetime.now(UTC)
    account = partner.account(provider)
    assert account is not None
    tell = watch or (lambda _step, _done, _calls: None)
    tell("credentials", 0, 0)
    try:
        account.credentials(partner.slug, environ)
    except PartnerConfigError as exc:
        return [Check("credentials", FAIL, str(exc), "export the variable named (partners.yaml)")]
    names = ", ".join(account.credential_envs.values())
    checks = [Check("credentials", PASS, f"{names} set")]
    spent = calls_in_last_hour(engine, provider, partner.id) if engine is not None else 0
    share = spent / account.quota_per_hour
    checks.append(
        Check(
            "quota, past hour",
            WARN if share >= QUOTA_WARN_SHARE else PASS,
            f"{spent} of {account.quota_per_hour} calls spent by p88's runs",
            "a sync now waits for the quota: run it later" if share >= QUOTA_WARN_SHARE else "",
        )
    )
    try:
        transport = Transport(probing.retry)
        client = build_client(
            partner, provider, environ=environ, transport=transport, spent_last_hour=spent
        )
    except ProviderConfigError as exc:
        return [*checks, Check("configuration", FAIL, str(exc), "fix partners.yaml")]
    made = len(checks)
    target = ProbeTarget(now=now, watch=lambda step, done, calls: tell(step, made + done, calls))
    if engine is not None:
        with engine.connect() as conn:
            found = largest_future_event(
                conn, provider, partner.id, future_cutoff(now, SyncPolicy().grace)
            )
        if found is not None:
            target = replace(target, largest=found[0], largest_rows=found[1])
    probe = spec_for(provider).probe
    checks += probe(client, target) if probe else [Check("probe", WARN, "none for this provider")]
    calls = client.calls
    over = calls > MAX_CALLS
    checks.append(Check("API calls", FAIL if over else PASS, f"{calls} (at most {MAX_CALLS})"))
    tell("API calls", len(checks), calls)
    learned = client.caps.learned()
    if engine is not None and learned:
        with engine.begin() as conn:
            save_page_caps(conn, provider, partner.id, learned)
    return checks


def run_doctor(
    partners: Sequence[Partner],
    stores: Stores,
    probing: Probing = Probing(),
    *,
    providers: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> list[Line]:
    """Every check, in table order; `providers` limits the accounts probed (default: all);
    `progress` gets one row per account, from waiting to PASS, WARN or FAIL."""
    probing = replace(probing, now=probing.now or datetime.now(UTC))  # one instant for all
    accounts = [
        (partner, spec)
        for partner in partners
        for spec in specs()
        if partner.account(spec.name) is not None and spec.name in (providers or [spec.name])
    ]
    rows = [
        AccountRow(progress, f"{p.slug} {s.name}", OWN_CHECKS + s.probe_checks) for p, s in accounts
    ]
    warehouse, writable = warehouse_checks(stores.engine, stores.engine_error)
    lines = _lines("warehouse", warehouse) + _lines("dagster", dagster_checks(stores.get_instance))
    usable = stores.engine if writable else None
    for (partner, spec), row in zip(accounts, rows, strict=True):
        checks = account_checks(usable, partner, spec.name, probing, row.watch)
        lines += _lines(f"{partner.slug}/{spec.name}", checks)
        row.end(checks)
    return lines


class AccountRow:
    """One account's progress row: checks made of those planned, API calls, the step under way;
    at the end the worst result and what did not pass. A no-op without a display."""

    def __init__(self, progress: Progress | None, key: str, planned: int) -> None:
        self.progress, self.key, self.planned, self.calls = progress, key, planned, 0
        if progress is not None:
            progress.update(key, status=WAITING)

    def watch(self, step: str, done: int, calls: int) -> None:
        self.calls = calls
        if self.progress is not None:
            total = max(self.planned, done)
            text = f"{step}, {calls} API calls"
            self.progress.update(self.key, done=done, total=total, text=text, status="running")

    def end(self, checks: Sequence[Check]) -> None:
        if self.progress is None:
            return
        found = {c.status for c in checks}
        worst = FAIL if FAIL in found else WARN if WARN in found else PASS
        self.progress.update(self.key, done=len(checks), total=max(self.planned, len(checks)))
        others = ", ".join(c.check for c in checks if c.status != PASS)
        text = f"{self.calls} API calls" + (f"; not passed: {others}" if others else "")
        self.progress.finish(self.key, worst, text=text)


def render_table(lines: Sequence[Line]) -> str:
    """Aligned plain text: one row per check, what to do under each non-pass."""
    scope_w = max((len(x.scope) for x in lines), default=5)
    check_w = max((len(x.check) for x in lines), default=5)
    out = [f"{'where':<{scope_w}}  {'check':<{check_w}}  result  detail"]
    out.append("-" * len(out[0]))
    for x in lines:
        out.append(f"{x.scope:<{scope_w}}  {x.check:<{check_w}}  {x.status:<6}  {x.detail}")
        if x.status != PASS and x.action:
            out.append(f"{'':<{scope_w}}  {'':<{check_w}}  {'':<6}  -> {x.action}")
    counts = {s: sum(1 for x in lines if x.status == s) for s in (PASS, WARN, FAIL)}
    out.append(f"\n{counts[PASS]} PASS, {counts[WARN]} WARN, {counts[FAIL]} FAIL")
    return "\n".join(out)


def to_json(lines: Sequence[Line]) -> str:
    failed = any(x.status == FAIL for x in lines)
    return json.dumps({"ok": not failed, "checks": [asdict(x) for x in lines]}, indent=2)


def exit_code(lines: Sequence[Line]) -> int:
    return 1 if any(x.status == FAIL for x in lines) else 0


def doctor_command(timing_partner: str | None = None, as_json: bool = False) -> int:
    settings = load_settings()
    partners = load_partners(settings.partners_file)
    if timing_partner:
        partners = [find_partner(partners, timing_partner)]
    engine, error = None, ""
    try:
        engine = get_engine(resolve_database_url(settings))
    except (EmbeddedServerError, DatabaseUrlError, sa.exc.SQLAlchemyError) as exc:
        error = str(exc)
    with Progress("p88 doctor", unit="checks", every_s=settings.progress_s) as progress:
        stores = Stores(engine, lambda: open_instance(settings), error)
        lines = run_doctor(partners, stores, Probing(environ=os.environ), progress=progress)
    print(to_json(lines) if as_json else render_table(lines), flush=True)
    return exit_code(lines)
