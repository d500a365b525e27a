"""The running stages' figures in this process, for whoever shows live progress.

The engine registers each stage's SyncFigures and client as the stage starts (one dict entry,
nothing else); `p88 sync`'s workers sample `snapshot()` twice a second and send it to the
terminal. Sampling reads counters the stages already keep (the groups' totals under their lock,
the client's call count), so progress costs the sync no work and no extra writes. One entry per
partner, provider and stage, replaced by the next run's: bounded by the partners file.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from p88_pipeline.sync.figures import SyncFigures


class _Counted(Protocol):
    calls: int


_lock = threading.Lock()
# (provider, partner slug, stage) -> (figures, client, the client's calls when the stage began)
_stages: dict[tuple[str, str, str], tuple[SyncFigures, _Counted, int]] = {}


def track(stage: str, figures: SyncFigures, client: _Counted) -> None:
    with _lock:
        _stages[(figures.provider, figures.partner, stage)] = (figures, client, client.calls)


def snapshot(partner: str) -> dict[str, dict[str, Any]]:
    """The partner's figures per provider: events found / due / done, rows written, removed,
    rejected, API calls, and whether its participants stage has ended."""
    out: dict[str, dict[str, Any]] = {}
    with _lock:
        stages = [(k, v) for k, v in _stages.items() if k[1] == partner]
    # Calls per client from its first stage's start: a client reused by the next stage (one
    # process running both, as `p88 soak` and the tests do) is counted once, not once a stage.
    first_call: dict[tuple[str, int], tuple[_Counted, int]] = {}
    for (provider, _partner, _stage), (_figures, client, calls_before) in stages:
        key = (provider, id(client))
        if key not in first_call or calls_before < first_call[key][1]:
            first_call[key] = (client, calls_before)
    for (provider, _client), (client, calls_before) in first_call.items():
        row = out.setdefault(provider, {"calls": 0, "events_total": 0, "done": False})
        row["calls"] += client.calls - calls_before
    for (provider, _partner, stage), (figures, _client, _calls) in stages:
        row = out[provider]
        if stage == "events":
            row["events_total"] = figures.events_total
        else:
            row.update(
                events_future=figures.events_future,
                events_synced=figures.events_synced,
                rows=figures.participants_upserted,
                removed=figures.participants_removed,
                rejected=figures.participants_rejected,
                # duration is set as the stage ends; a stage without future events ends at once
                done=bool(figures.duration_s) or not figures.events_future,
            )
    return out
