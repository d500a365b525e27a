"""The product CLI without p88-sandbox: each sandbox command, however spelled, names the install."""

from __future__ import annotations

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
