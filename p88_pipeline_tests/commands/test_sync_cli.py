"""Issue 13 items 4, 5, 7 and 8 through the real `p88 sync`: bad arguments and partner files are
refused before anything runs (a pasted secret is never echoed), every sync_runs row ends in a
terminal status, the summary line carries the cause and the fix, and the exit code says whether
every requested partner synced completely. Issue 15: through pipes the output is plain and short,
on a terminal the progress is redrawn in place."""

from __future__ import annotations

import re
import subprocess

import pytest
import sqlalchemy as sa

from p88_pipeline.commands.summary import EXIT_FAILED, EXIT_INACTIVE, EXIT_PARTIAL, EXIT_USAGE
from p88_pipeline_tests.commands.cli_support import (
    P88,
    cli_environment,
    run_in_terminal,
    run_p88,
    statuses,
)

PASTED = "rsu9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d"  # a RunSignUp key where its variable name belongs


def edit_partners(env: dict[str, str], old: str, new: str, count: int = 1) -> None:
    path = env["P88_PARTNERS_FILE"]
    with open(path) as f:
        text = f.read()
    assert old in text
    with open(path, "w") as f:
        f.write(text.replace(old, new, count))


@pytest.mark.parametrize(
    ("args", "edit", "code", "message"),
    [
        (["--incremental-days", "0"], None, EXIT_USAGE, "must be 1 or more, got 0"),
        (["--incremental-days", "-1"], None, EXIT_USAGE, "must be 1 or more, got -1"),
        (["--parallel", "0"], None, EXIT_USAGE, "must be 1 or more, got 0"),
        ([], ("partners:\n", "partners: []\nx:\n"), EXIT_USAGE, "partners: is empty"),
        (
            ["--timing-partner", "bravo"],
            ("slug: bravo\n    name: Bravo Timing\n    active: true", None),
            EXIT_INACTIVE,
            "nothing to do: bravo: inactive",
        ),
        (
            [],
            ("api_secret_env: P88_BRAVO_RUNSIGNUP_SECRET", f"api_secret_env: {PASTED}"),
            EXIT_USAGE,
            "partner bravo: provider runsignup: api_secret_env must be the NAME of an environment "
            "variable",
        ),
    ],
)
def test_bad_arguments_and_partner_files_are_refused_before_anything_runs(
    sandbox, db_url, engine, tmp_path, args, edit, code, message
) -> None:
    env = cli_environment(sandbox, tmp_path, db_url)
    if edit and edit[1] is None:  # the inactive case: flip bravo's flag
        text = open(env["P88_PARTNERS_FILE"]).read()
        block = text[text.index("slug: bravo") :]
        edit_partners(env, block, block.replace("active: true", "active: false", 1))
    elif edit:
        edit_partners(env, *edit)
    result = subprocess.run([P88, "sync", *args], env=env, capture_output=True, text=True)
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stdout + result.stderr
    assert PASTED not in result.stdout + result.stderr  # item 8: never echoed
    assert "Traceback" not in result.stderr
    assert sandbox.server.calls() == 0
    with engine.connect() as conn:  # nothing ran: no Dagster storage, no sync_runs row
        assert not conn.execute(sa.text("SELECT to_regclass('runs')")).scalar()
        assert conn.execute(sa.text("SELECT count(*) FROM sync_runs")).scalar() == 0


def test_quota_spent_and_a_held_lock_are_partial_with_terminal_rows(
    sandbox, db_url, engine, tmp_path
) -> None:
    env = cli_environment(sandbox, tmp_path, db_url)
    block = open(env["P88_PARTNERS_FILE"]).read().split("slug: bravo")[1]
    edit_partners(
        env, block, block.replace("page_size: 3", "page_size: 3\n        quota_per_hour: 4")
    )
    alpha = sandbox.partner("alpha")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        key = f"p88:runsignup:{alpha.id}"  # another sync holds alpha's RunSignUp lock
        assert conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key})
        code, out, err = run_p88(env)
    assert code == EXIT_PARTIAL, out + err
    # Issue 15, through pipes: plain lines only, library chatter in the log file, <= 20 lines.
    assert "\x1b" not in out + err and "\r" not in out + err, repr(out + err)
    assert len((out + err).splitlines()) <= 20, out + err
    assert "Blocking asset check" not in err and "WARNING" not in err, err
    log = (tmp_path / "data" / "logs" / "p88.log").read_text()
    assert "Blocking asset check" in log
    assert "p88 sync: alpha haku: success, 2/2 events, rows " in err, err  # its end, as progress
    lines = out.splitlines()
    assert any(x.startswith("BUSY") and " alpha " in x and "another sync" in x for x in lines), out
    assert any(x.startswith("QUOTA_EXHAUSTED") and " bravo " in x for x in lines), out
    assert any(x.startswith("success") and " alpha " in x and " haku " in x for x in lines), out
    rows = {(p, provider): (s, e) for p, provider, s, e in statuses(engine)}
    assert rows[(alpha.id, "runsignup")][0] == "busy"
    assert "another sync holds its lock" in rows[(alpha.id, "runsignup")][1]
    assert rows[(sandbox.partner("bravo").id, "runsignup")][0] == "quota_exhausted"
    assert rows[(alpha.id, "haku")][0] == "success"


def test_a_refused_key_fails_in_one_line_with_its_cause_and_fix(
    sandbox, db_url, engine, tmp_path
) -> None:
    """Run on a pseudo-terminal, as a person would: the progress rows are redrawn in place
    (issue 15), then cleared for the table, which is the one line and where the details are."""
    env = cli_environment(sandbox, tmp_path, db_url)
    env["P88_BRAVO_RUNSIGNUP_SECRET"] = "wrong secret 0123456789"
    code, text = run_in_terminal(env, "--timing-partner", "bravo")
    assert code == EXIT_FAILED, text
    assert "\x1b[1A" in text and "\x1b[2K" in text, text  # cursor up, erase line: redrawn
    assert re.search(r"bravo runsignup\s+(waiting|events list)\s", text), text  # a live row
    final = text.rsplit("\x1b[2K", 1)[1].replace("\r", "")  # after the rows were cleared
    assert "\x1b" not in final, final
    log_path = tmp_path / "data" / "logs" / "p88.log"
    line, ending = [x for x in final.splitlines() if x.strip()]
    assert line.startswith("FAILED ") and " bravo " in line and " runsignup " in line
    assert "AuthError: runsignup partner bravo" in line and "Key authentication failed" in line
    assert "-> check the credential values" in line
    [(_, _, status, errors)] = statuses(engine)
    with engine.connect() as conn:
        run_id = conn.execute(sa.text("SELECT run_id FROM sync_runs")).scalar()
    assert line.endswith(f"[run {run_id[:8]}]"), line
    assert ending == f"p88 sync: exit {EXIT_FAILED}; details in {log_path} (or run with -v)"
    assert "DagsterExecutionStepExecutionError" not in text  # the wrapper stays out
    assert "Traceback" not in text
    assert "wrong secret" not in text and "wrong+secret" not in text
    log = log_path.read_text()
    assert "raise type(exc)(" in log and "AuthError" in log  # the whole traceback: log file
    assert status == "failed" and "Key authentication failed" in errors
