"""The figures a sync reports: to sync_runs, to Dagster metadata and to the CLI summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# The figures every run reports, in this order: sync_runs columns, Dagster metadata keys, CLI
# summary fields. The one list; everything that shows a run's figures reads it from here.
FIGURES = (
    "events_total",
    "events_future",
    "events_synced",
    "participants_upserted",
    "participants_removed",
    "participants_rejected",
    "api_calls",
    "duration_s",
)


@dataclass
class SyncFigures:
    provider: str
    partner: str
    events_total: int = 0
    events_future: int = 0
    events_synced: int = 0
    participants_upserted: int = 0
    participants_removed: int = 0
    participants_rejected: int = 0
    api_calls: int = 0
    duration_s: float = 0.0
    sync_types: dict[str, str] = field(default_factory=dict)
    page_caps: dict[str, dict[str, int | None]] = field(default_factory=dict)  # per endpoint
    errors: list[dict[str, Any]] = field(default_factory=list)
    status: str = "success"

    @property
    def type_counts(self) -> dict[str, int]:
        return dict(Counter(self.sync_types.values()))

    def figures(self) -> dict[str, int | float]:
        """FIGURES by name, with this run's values."""
        return {name: getattr(self, name) for name in FIGURES}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SyncFailedError(RuntimeError):
    """Some events could not be synced; the others were, and their watermarks advanced."""

    def __init__(self, figures: SyncFigures) -> None:
        lines = "; ".join(
            f"race {e.get('race_id')} events {','.join(e.get('event_ids', []))}: {e['error']}"
            for e in figures.errors
        )
        super().__init__(
            f"{figures.provider} partner {figures.partner}: {len(figures.errors)} group(s) failed "
            f"({figures.events_synced} of {figures.events_future} future events synced): {lines}"
        )
        self.figures = figures
