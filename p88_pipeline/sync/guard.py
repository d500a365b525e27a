"""Rule 8's last clause as a plain decision: a read that stores nothing of what the provider
returned is a failure, not a success over a half-empty table.

A group's read is judged per event before it commits: most rows rejected, or a full read whose
reconciliation would soft-delete a large share of the event's active registrations (the
registrations simply were not returned: a silent page cap, a shape we misread). Removals the
provider announced (removed list, cancellation flags) are explained and never count here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GuardPolicy:
    max_rejected_share: float = 0.5  # fail when more than this share of an event's rows is rejected
    max_vanished_share: float = 0.5  # fail when a full read drops more of the active rows
    min_rows: int = 10  # shares are judged from this many rows on (every row rejected: always)


@dataclass
class ReadTally:
    """What one group's read returned and did, per event."""

    read: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    first_reason: dict[str, str] = field(default_factory=dict)
    active_before: dict[str, int] = field(default_factory=dict)
    vanished: dict[str, int] = field(default_factory=dict)

    def note_rejected(self, event_id: str, reason: str) -> None:
        self.rejected[event_id] += 1
        self.first_reason.setdefault(event_id, reason)


def suspicious(tally: ReadTally, policy: GuardPolicy) -> dict[str, str]:
    """event id -> the cause, for every event whose read must not be committed."""
    causes: dict[str, str] = {}
    for event_id in sorted(set(tally.read) | set(tally.rejected)):
        rejected, total = tally.rejected[event_id], tally.read[event_id] + tally.rejected[event_id]
        if rejected and (
            rejected == total
            or (total >= policy.min_rows and rejected > policy.max_rejected_share * total)
        ):
            causes[event_id] = (
                f"{rejected} of {total} rows rejected "
                f"(first: {tally.first_reason.get(event_id, '?')})"
            )
    for event_id, vanished in sorted(tally.vanished.items()):
        before = tally.active_before.get(event_id, 0)
        if before >= policy.min_rows and vanished > policy.max_vanished_share * before:
            causes.setdefault(
                event_id,
                f"a full read would soft-delete {vanished} of {before} active registrations "
                "the provider did not report removed (missing from the read)",
            )
    return causes


class SuspiciousReadError(RuntimeError):
    """A group's read was refused by the guard; its transaction rolls back."""
