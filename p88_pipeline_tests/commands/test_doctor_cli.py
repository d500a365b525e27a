"""Issue 15 for `p88 doctor`: one progress row per account while it probes (plain lines through
a pipe, redrawn in place on a terminal), then the table as before; with --json, stdout stays one
JSON document (the progress goes to stderr)."""

from __future__ import annotations

import io
import json
import re
import subprocess

import dagster as dg

from p88_pipeline.commands.doctor import (
    OWN_CHECKS,
    Probing,
    Stores,
    doctor_command,
    exit_code,
    run_doctor,
)
from p88_pipeline.commands.progress import Progress
from p88_pipeline.providers.registry import spec_for
from p88_pipeline_tests.commands.cli_support import P88, cli_environment, run_in_terminal
from p88_pipeline_tests.helpers import FAST_RETRY

# Mid-probe, e.g. `p88 doctor: 1s, 0 of 2 done; alpha runsignup running, 5/14 checks,
# participants, 2 API calls`: the step under way and the calls so far, as the probe reports them.
HEARTBEAT = re.compile(
    r"^p88 doctor: \d+s, \d+ of \d+ done; .*running, \d+/\d+ checks, (?!API)[\w ]+, [1-9]\d* API",
    re.M,
)


def planned(provider: str) -> int:
    return OWN_CHECKS + spec_for(provider).probe_checks


def table_is_right(out: str, sandbox, slug: str) -> None:
    """The partner's accounts in the table, every check PASS in the default sandbox."""
    lines = out.splitlines()
    assert lines[0].split() == ["where", "check", "result", "detail"], out
    for provider in sandbox.partner(slug).accounts:
        rows = [x for x in lines if x.startswith(f"{slug}/{provider} ")]
        assert len(rows) == planned(provider) and all("  PASS  " in x for x in rows), out
    assert re.search(r"^\d+ PASS, 0 WARN, 0 FAIL$", out, re.M), out


def test_through_pipes_plain_progress_lines_then_the_table(sandbox, db_url, tmp_path) -> None:
    sandbox.server.set_latency(80)  # a probe long enough for a few heartbeats
    env = cli_environment(sandbox, tmp_path, db_url, P88_PROGRESS_SECONDS="0.1")
    result = subprocess.run(
        [P88, "doctor", "--timing-partner", "alpha"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, out + err
    assert "\x1b" not in out + err and "\r" not in out + err, repr(out + err)
    assert HEARTBEAT.search(err), err
    for provider in sandbox.partner("alpha").accounts:
        n, calls = planned(provider), sandbox.server.calls(provider, "alpha")
        assert f"p88 doctor: alpha {provider}: PASS, {n}/{n} checks, {calls} API calls, " in err
    assert "p88 doctor" not in out  # progress on stderr, the table alone on stdout
    table_is_right(out, sandbox, "alpha")


def test_on_a_terminal_rows_redrawn_then_cleared_for_the_table(sandbox, db_url, tmp_path) -> None:
    sandbox.server.set_latency(60)
    env = cli_environment(sandbox, tmp_path, db_url)
    code, text = run_in_terminal(env, "--timing-partner", "bravo", command="doctor")
    assert code == 0, text
    assert "\x1b[1A" in text and "\x1b[2K" in text, text  # cursor up, erase line: redrawn
    assert re.search(r"bravo runsignup\s+(waiting|running)\s", text), text  # a live row
    final = text.rsplit("\x1b[2K", 1)[1].replace("\r", "")  # after the rows were cleared
    assert "\x1b" not in final and "p88 doctor" not in final, final
    table_is_right(final.lstrip("\n"), sandbox, "bravo")


def test_json_stdout_is_one_document(sandbox, db_url, tmp_path, monkeypatch, capsys) -> None:
    """In process (the instance an ephemeral one): what reaches stdout and what stderr."""
    env = cli_environment(sandbox, tmp_path, db_url)
    for name in ("P88_DATA_DIR", "P88_PARTNERS_FILE", "P88_DATABASE_URL"):
        monkeypatch.setenv(name, env[name])
    with dg.DagsterInstance.ephemeral() as instance:
        monkeypatch.setattr("p88_pipeline.commands.doctor.open_instance", lambda _s: instance)
        assert doctor_command("bravo", as_json=True) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["ok"] is True
    assert {c["scope"] for c in document["checks"]} == {"warehouse", "dagster", "bravo/runsignup"}
    n = planned("runsignup")
    assert f"p88 doctor: bravo runsignup: PASS, {n}/{n} checks, " in err, err


def test_a_refused_key_ends_its_row_as_a_fail_naming_the_check(engine, sandbox) -> None:
    env = {**sandbox.env, "P88_BRAVO_RUNSIGNUP_SECRET": "not the secret"}
    stream = io.StringIO()
    with (
        dg.DagsterInstance.ephemeral() as instance,
        Progress("p88 doctor", unit="checks", stream=stream, live=False) as progress,
    ):
        probing = Probing(environ=env, now=sandbox.world.clock.now(), retry=FAST_RETRY)
        stores = Stores(engine, lambda: instance)
        lines = run_doctor([sandbox.partner("bravo")], stores, probing, progress=progress)
    assert exit_code(lines) == 1
    n = planned("runsignup")
    calls = next(x.detail.split()[0] for x in lines if x.check == "API calls")  # the client's count
    end = f"p88 doctor: bravo runsignup: FAIL, 4/{n} checks, {calls} API calls; not passed: "
    assert end + "authentication, " in stream.getvalue(), stream.getvalue()
    assert "not the secret" not in stream.getvalue()
