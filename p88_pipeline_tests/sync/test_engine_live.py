"""What the engine's stages report while they run (sync.live, read by `p88 sync`'s progress and
the workers): each stage is tracked under its provider and its own stage name, so the figures a
terminal shows are the run's, whatever else the process ran before."""

from __future__ import annotations

from p88_pipeline.sync import live
from p88_pipeline_tests.helpers import run_sync


def test_a_sync_is_seen_live_stage_by_stage_under_its_provider(engine, sandbox, monkeypatch):
    monkeypatch.setattr(live, "_stages", {})
    figures = run_sync(engine, sandbox, "alpha")
    assert figures.provider == "runsignup" and figures.partner == "alpha"
    assert figures.events_synced > 0 and figures.participants_upserted > 0
    assert live.snapshot("alpha") == {
        "runsignup": {
            "calls": figures.api_calls,  # both stages' calls, each counted from its own start
            "events_total": figures.events_total,
            "events_future": figures.events_future,
            "events_synced": figures.events_synced,
            "rows": figures.participants_upserted,
            "removed": figures.participants_removed,
            "rejected": figures.participants_rejected,
            "done": True,
        }
    }
    assert {stage for (_, _, stage) in live._stages} == {"events", "participants"}
