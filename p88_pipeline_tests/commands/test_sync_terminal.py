"""Issue 15 through the real `p88 sync --json`: stdout is one document whose every figure is the
warehouse's sync_runs row, stderr's progress lines are plain. (test_sync_cli runs a plain sync
through pipes, counting its lines, and one on a pseudo-terminal.)"""

from __future__ import annotations

import json
import re
import subprocess

import sqlalchemy as sa

from p88_pipeline.commands.summary import EXIT_FAILED
from p88_pipeline.commands.sync_report import COUNTS  # sync_runs' figures but duration_s
from p88_pipeline_tests.commands.cli_support import P88, cli_environment

WRONG = "wrong secret 0123456789"


def runs(engine: sa.Engine, sandbox) -> dict[tuple[str, str], dict]:
    """(partner slug, provider) -> its sync_runs row, for the latest run of each."""
    slug = {p.id: p.slug for p in sandbox.partners}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT run_id, provider, timing_partner_id, status, sync_types, duration_s, "
                f"{', '.join(COUNTS)} FROM sync_runs ORDER BY started_at"
            )
        ).mappings()
        return {(slug[r["timing_partner_id"]], r["provider"]): dict(r) for r in rows}


def test_json_through_a_pipe_is_one_document_of_the_sync_runs_rows_with_plain_progress(
    sandbox, db_url, engine, tmp_path
) -> None:
    """A cron wrapper: --json through pipes, one partner failing on a refused key."""
    env = cli_environment(
        sandbox, tmp_path, db_url, P88_BRAVO_RUNSIGNUP_SECRET=WRONG, P88_PROGRESS_SECONDS="1"
    )
    result = subprocess.run([P88, "sync", "--json"], env=env, capture_output=True, timeout=180)
    err = result.stderr.decode()
    assert result.returncode == EXIT_FAILED, err[-3000:]
    assert "\x1b" not in err and "\r" not in err, repr(err)  # progress, plain
    # a heartbeat caught alpha mid-run: its figures came from the worker while it ran
    beat = (
        r"p88 sync: \d+s, [012] of 3 done; .*alpha (runsignup|haku) (events list|syncing|synced), "
    )
    assert re.search(beat, err, re.MULTILINE), err
    doc = json.loads(result.stdout)  # nothing else on stdout: a stray line fails to parse
    assert doc["exit_code"] == EXIT_FAILED and doc["status"] == "failed"
    assert doc["log_file"] == str(tmp_path / "data" / "logs" / "p88.log")
    now = runs(engine, sandbox)
    got = {(r["partner"], r["provider"]): r for r in doc["results"]}
    assert got.keys() == now.keys() and len(doc["results"]) == 3
    for (slug, provider), row in now.items():
        mine = got[(slug, provider)]
        assert (mine["status"], mine["run_id"]) == (row["status"], row["run_id"]), mine
        assert {n: mine[n] for n in COUNTS} == {n: row[n] for n in COUNTS}, (mine, row)
        assert mine["sync_types"] == row["sync_types"] and mine["duration_s"] == row["duration_s"]
        assert mine["wall_s"] > 0
        assert f"p88 sync: {slug} {provider}: {row['status']}, " in err, err  # its end, on stderr
    assert got[("alpha", "haku")]["error"] is None
    assert got[("alpha", "haku")]["participants_upserted"] > 0
    assert got[("bravo", "runsignup")]["status"] == "failed"
    error = got[("bravo", "runsignup")]["error"]
    assert "AuthError: runsignup partner bravo" in error and "Key authentication failed" in error
    assert WRONG not in result.stdout.decode() + err
    assert "wrong+secret" not in result.stdout.decode() + err
