"""How `p88 sync` ends: the aligned table on stdout, or with --json one JSON document (and nothing
else on stdout), both from the runs' sync_runs rows and what the supervisor saw; the exit code."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from p88_pipeline.commands import summary
from p88_pipeline.commands.supervisor import Supervised
from p88_pipeline.config.partners import Partner
from p88_pipeline.lib.redaction import env_values, redact
from p88_pipeline.sync.figures import FIGURES
from p88_pipeline.warehouse.runs import run_rows

COUNTS = tuple(f for f in FIGURES if f != "duration_s")
EXIT_NAMES = {
    summary.EXIT_OK: "ok",
    summary.EXIT_FAILED: "failed",
    summary.EXIT_PARTIAL: "partial",
    summary.EXIT_INACTIVE: "nothing_to_do",
}


def result_json(line: summary.Line, wall_s: float | None) -> dict[str, Any]:
    """One partner and provider: its sync_runs figures as named there, the error in one line."""
    row = line.row or {}
    return {
        "partner": line.partner,
        "provider": None if line.provider == "-" else line.provider,
        "status": line.status,
        "run_id": line.run_id,
        "sync_types": row.get("sync_types") or {},
        **{name: row.get(name) for name in COUNTS},
        "duration_s": row.get("duration_s"),
        "wall_s": None if wall_s is None else round(wall_s, 3),
        "error": None if line.status == "success" else line.text,
    }


def document(
    lines: Sequence[summary.Line], walls: dict[str, float], code: int, log: Path
) -> dict[str, Any]:
    name = EXIT_NAMES.get(code, "interrupted")
    return {
        "exit_code": code,
        "status": name,
        "log_file": str(log) if code != summary.EXIT_OK else None,
        "results": [
            result_json(x, walls.get(x.partner))
            for x in sorted(lines, key=lambda x: (x.partner, x.provider))
        ],
    }


def nothing_ran(code: int, why: str, as_json: bool) -> int:
    """Nothing was synced (nothing to do, or no database): one line, or its JSON document."""
    if as_json:
        doc = {"exit_code": code, "status": EXIT_NAMES[code], "reason": why, "results": []}
        print(json.dumps(doc))
    else:
        print(f"p88 sync: {why}", file=sys.stdout if code == summary.EXIT_INACTIVE else sys.stderr)
    return code


def report(
    engine: sa.Engine, state: Supervised, partners: list[Partner], log: Path, as_json: bool = False
) -> int:
    """Each outcome's run id (None: no run) names its sync_runs rows."""
    run_ids: list[str | None] = [seen.result.get("run_id") for seen in state.outcomes]
    rows = run_rows(engine, [r for r in run_ids if r], FIGURES)
    envs = [v for p in partners for a in p.accounts.values() for v in a.credential_envs.values()]
    secrets = env_values(envs, os.environ)
    lines: list[summary.Line] = []
    for run_id, seen in zip(run_ids, state.outcomes, strict=True):
        mine = [r for r in rows if r["run_id"] == run_id and run_id]
        lines += summary.partner_lines(
            seen.slug, mine, seen.result, seen.note, state.stop_signal is not None
        )
    lines = [
        summary.Line(x.status, x.partner, x.provider, redact(x.text, secrets), x.run_id, x.row)
        for x in lines
    ]
    code = summary.exit_code([x.status for x in lines], state.stop_signal)
    if as_json:
        walls = {o.slug: o.duration_s for o in state.outcomes if o.started}
        print(json.dumps(document(lines, walls, code, log), default=str))
        return code
    for text in summary.render(lines):
        print(text)
    if code != summary.EXIT_OK:
        print(f"p88 sync: exit {code}; details in {log} (or run with -v)")
    return code
