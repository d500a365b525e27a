"""The product CLI: without p88-sandbox each sandbox command, however spelled, names the install;
any failure is one line on stderr, its traceback in the log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from p88_pipeline import cli


@pytest.mark.parametrize(
    "argv",
    [
        ["demo"],
        ["bench", "--scale", "small", "--json"],
        ["sandbox", "serve", "--port", "0"],
        ["soak", "-h"],
    ],
)
def test_a_sandbox_command_without_the_sandbox_names_the_install(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The dev install has p88-sandbox; the product wheel alone does not (CI checks that too).
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    args = cli.build_parser().parse_args(argv)
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert f"p88 {argv[0]}: p88-sandbox is not installed" in err
    assert "pip install -e ./sandbox" in err


# A command that fails in a way no handler foresaw (a bug): `p88 status` made to raise.
UNFORESEEN = """
import sys
import p88_pipeline.commands.status as status

def broken(*args, **kwargs):
    raise RuntimeError("an unforeseen failure\\nits second line")

status.status_command = broken
from p88_pipeline.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_an_unforeseen_failure_is_one_line_and_its_traceback_goes_to_the_log(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "P88_"))}
    env["P88_DATA_DIR"] = str(tmp_path)
    log = tmp_path / "logs" / "p88.log"

    def p88(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", UNFORESEEN, *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    quiet = p88("status")
    assert quiet.returncode == 1
    assert quiet.stderr.splitlines() == [
        f"p88 status: RuntimeError: an unforeseen failure; details in {log}"
    ]
    assert "Traceback" in log.read_text() and "its second line" in log.read_text()
    loud = p88("-v", "status")
    assert loud.returncode == 1 and "Traceback" in loud.stderr
