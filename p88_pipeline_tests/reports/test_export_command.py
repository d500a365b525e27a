"""`p88 export`: the same start lists as the pipeline's, for one partner or one event."""

from __future__ import annotations

from pathlib import Path

import pytest

from p88_pipeline.cli import main
from p88_pipeline.reports.export import file_name
from p88_pipeline_tests.reports import truth
from p88_pipeline_tests.reports.conftest import Runner


def test_export_writes_the_pipelines_files_and_only_what_changed(
    runner: Runner,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert runner.run("alpha").success
    monkeypatch.setenv("P88_DATABASE_URL", db_url)
    monkeypatch.setenv("P88_PARTNERS_FILE", str(tmp_path / "partners.yaml"))
    monkeypatch.setenv("P88_EXPORT_DIR", str(tmp_path / "default-dir"))
    world = runner.sandbox.world
    as_of = ["--as-of", world.clock.now().isoformat()]
    provider, event = truth.future_events(world, "alpha", world.clock.now())[0]
    name = file_name(provider, str(event.event_id))

    out = tmp_path / "terminal"
    assert (
        main(
            [
                "export",
                "--timing-partner",
                "alpha",
                "--event",
                str(event.event_id),
                "--out",
                str(out),
                *as_of,
            ]
        )
        == 0
    )
    assert [p.name for p in (out / "alpha").glob("*.csv")] == [name]
    assert (out / "alpha" / name).read_bytes() == (runner.exports / "alpha" / name).read_bytes()
    assert "alpha: 1 start lists written" in capsys.readouterr().out

    assert main(["export", "--timing-partner", "alpha", *as_of]) == 0  # P88_EXPORT_DIR
    pipeline = sorted(p.name for p in (runner.exports / "alpha").glob("*.csv"))
    assert sorted(p.name for p in (tmp_path / "default-dir" / "alpha").glob("*.csv")) == pipeline
    assert main(["export", "--timing-partner", "alpha", *as_of]) == 0
    assert f"alpha: 0 start lists written, {len(pipeline)} unchanged" in capsys.readouterr().out

    assert main(["export", "--timing-partner", "alpha", "--event", "nope", *as_of]) == 1
    assert "no future event 'nope' for alpha" in capsys.readouterr().err
