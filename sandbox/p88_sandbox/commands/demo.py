"""`p88 demo`: embedded Postgres + in-process sandbox; what `p88 doctor` finds, a full sync, one
simulated day of changes, an incremental sync; both runs' figures side by side, then the
warehouse checked against truth."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta

from p88_pipeline.commands.doctor import Stores, render_table, run_doctor
from p88_pipeline.commands.instance import get_instance
from p88_pipeline.commands.summary import type_summary
from p88_pipeline.commands.sync import SyncRequest, providers_of, run_figures, run_partners
from p88_pipeline.config.partners import load_partners
from p88_pipeline.settings import Settings, load_settings
from p88_pipeline.warehouse.db import get_engine, redact_url, resolve_database_url
from p88_pipeline.warehouse.embedded_admin import stopped_afterwards
from p88_pipeline.warehouse.migrations import prepare_warehouse
from p88_pipeline.warehouse.readback import delete_partner_rows
from p88_sandbox.truth import compare_with_truth


def say(message: str) -> None:
    print(message, flush=True)


def demo_run(provider: str, as_of: datetime) -> SyncRequest:
    """One partner at a time, as of the simulated world's clock."""
    return SyncRequest(provider=provider, parallel=1, as_of=as_of.isoformat())


def run_demo(
    scale: str = "small", seed: int = 88, provider: str = "all", keep_db: bool = False
) -> int:
    """The demo's data is throwaway: the embedded server it starts is stopped at the end."""
    settings = load_settings()
    with stopped_afterwards(settings.pgdata, keep_db, say):
        return demo(settings, scale, seed, provider)


def demo(settings: Settings, scale: str, seed: int, provider: str) -> int:
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    say(f"p88 demo: building the sandbox world (scale {scale}, seed {seed})")
    world = World(seed=seed, scale=scale)
    with SandboxServer(world) as server:
        demo_dir = settings.data_dir / "demo"
        demo_dir.mkdir(parents=True, exist_ok=True)
        partners_path = demo_dir / "partners.yaml"
        partners_path.write_text(render_partners_yaml(world, server))
        os.environ.update(partner_environment(world))
        os.environ["P88_PARTNERS_FILE"] = str(partners_path)
        say(f"sandbox serving at {server.url}; partners file {partners_path}")

        url = resolve_database_url(settings)
        say(f"warehouse: {redact_url(url)}")
        engine = get_engine(url)
        prepare_warehouse(engine)
        partners = load_partners(partners_path)
        delete_partner_rows(engine, [p.id for p in partners])  # the world is new each time
        instance = get_instance(settings)
        instance.add_dynamic_partitions("timing_partner", [p.slug for p in partners])

        say("\n== p88 doctor: each account checked before the first sync ==")
        stores = Stores(engine, lambda: instance)
        say(render_table(run_doctor(partners, stores, providers=providers_of(provider))))

        say("\n== run 1: first sync (no watermarks yet: full) ==")
        first, _ = run_partners(partners, demo_run(provider, world.clock.now()), settings=settings)
        say("\n== one simulated day passes: new, modified and removed registrations ==")
        world.advance(timedelta(days=1))
        say("\n== run 2: incremental sync ==")
        second, _ = run_partners(partners, demo_run(provider, world.clock.now()), settings=settings)

        figures = run_figures(engine, [r.run_id for r in first + second])
        print_side_by_side(partners, provider, first, second, figures)

        say("\n== warehouse vs sandbox truth ==")
        mismatches = 0
        for partner in partners:
            for prov in providers_of(provider):
                if partner.account(prov) is None:
                    continue
                result = compare_with_truth(
                    engine, world, prov, partner.id, partner.slug, world.clock.now()
                )
                mismatches += result.mismatches
                say(f"  {result}")
        failed = [r for r in first + second if not r.success]
        for run in failed:
            say(f"  run {run.run_id} for {run.partner.slug} FAILED: {run.error}")
        ok = mismatches == 0 and not failed
        say(
            "\nOK: the warehouse equals the sandbox's truth."
            if ok
            else "\nFAILED: see the mismatches above."
        )
        return 0 if ok else 1


def print_side_by_side(partners, provider, first, second, figures) -> None:
    header = (
        f"{'partner':<10} {'provider':<10} {'run':<4} {'events':>7} {'future':>7} "
        f"{'written':>8} {'removed':>8} {'calls':>6} {'secs':>6}  sync types"
    )
    say("\n" + header)
    say("-" * len(header))
    for label, runs in (("1", first), ("2", second)):
        for run in runs:
            for prov in providers_of(provider):
                f = figures.get((run.run_id, prov, run.partner.id))
                if f is None:
                    continue
                say(
                    f"{run.partner.slug:<10} {prov:<10} {label:<4} {f['events_total']:>7} "
                    f"{f['events_future']:>7} {f['participants_upserted']:>8} "
                    f"{f['participants_removed']:>8} {f['api_calls']:>6} "
                    f"{f['duration_s']:>6.2f}  {type_summary(f['sync_types'])}"
                )
    sys.stdout.flush()
