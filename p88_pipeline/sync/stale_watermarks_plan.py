"""Which partners are due for an incremental run: the watermark sensor's decision, kept pure.

A partner is due when the oldest watermark of its future events is older than its
`sync_interval_minutes`, when one of its future events was never synced, or when it has no events
at all yet. The run key names the partner and the watermark that made it due (Dagster skips a run
key it has seen for a sensor forever) plus the partner's current interval window, so a run that
failed and left the watermark where it was is retried once per interval, never once per tick.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from p88_pipeline.partners import Partner
from p88_pipeline.warehouse.staleness import PartnerFreshness


@dataclass(frozen=True)
class PartnerDecision:
    """Due or not, why, and (when due) the run key the sensor requests the run under."""

    slug: str
    due: bool
    reason: str
    run_key: str | None = None


def watermark_label(watermark: datetime) -> str:
    """Compact UTC stamp for run keys (seconds are enough: watermarks are minutes apart)."""
    return watermark.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def interval_window(now: datetime, interval_minutes: int) -> int:
    """Index of the interval-long slot `now` falls in; it changes once per interval."""
    return int(now.timestamp() // (max(interval_minutes, 1) * 60))


def run_key(slug: str, label: str, now: datetime, interval_minutes: int) -> str:
    return f"{slug}:{label}:w{interval_window(now, interval_minutes)}"


def decide_partner(
    partner: Partner, freshness: PartnerFreshness | None, now: datetime
) -> PartnerDecision:
    """The rule for one active partner; see the module docstring."""
    interval = partner.sync_interval_minutes or 60

    def due(label: str, reason: str) -> PartnerDecision:
        return PartnerDecision(
            partner.slug, True, reason, run_key(partner.slug, label, now, interval)
        )

    if freshness is None or freshness.events == 0:
        return due("no-events", "no events stored yet")
    if freshness.future_events == 0:
        return PartnerDecision(
            partner.slug, False, "no future events (the nightly run looks for new ones)"
        )
    if freshness.never_synced:
        # Not keyed on the watermark: syncing the other events moves it, and a persistently
        # failing event would otherwise re-trigger a run on every tick.
        return due("unsynced", f"{freshness.never_synced} future events never synced")
    oldest = freshness.oldest_watermark
    if oldest is None or oldest < now - timedelta(minutes=interval):
        stamp = watermark_label(oldest) if oldest else "none"
        return due(stamp, f"oldest future-event watermark {stamp} is older than {interval} min")
    return PartnerDecision(
        partner.slug,
        False,
        f"fresh: oldest watermark {watermark_label(oldest)} within {interval} min",
    )


def plan_incremental_runs(
    partners: Sequence[Partner],
    freshness: Mapping[str, PartnerFreshness],
    now: datetime,
    *,
    registered: Collection[str] | None = None,
    busy: Collection[str] = (),
) -> list[PartnerDecision]:
    """One decision per partner, in partners-file order.

    Inactive partners never run; partners not yet registered as partitions wait for the partitions
    sensor (a run request for an unknown partition fails the tick); partners with a queued or
    running sync wait for it (it will move their watermarks).
    """
    decisions = []
    for partner in partners:
        if not partner.active:
            decisions.append(PartnerDecision(partner.slug, False, "inactive"))
        elif registered is not None and partner.slug not in registered:
            decisions.append(PartnerDecision(partner.slug, False, "not yet a partition"))
        elif partner.slug in busy:
            decisions.append(PartnerDecision(partner.slug, False, "a sync is queued or running"))
        else:
            decisions.append(decide_partner(partner, freshness.get(partner.id), now))
    return decisions


def tick_headline(decisions: Sequence[PartnerDecision]) -> str:
    """One short line for the tick list: who is due, else how many partners are in which state
    ("no partner due: 2 fresh, 1 inactive")."""
    if due := [d.slug for d in decisions if d.due]:
        return f"due: {', '.join(due)}"
    heads = Counter(d.reason.split(":")[0].split(" (")[0] for d in decisions)
    counts = ", ".join(f"{n} {head}" for head, n in heads.items()) or "no partners"
    return f"no partner due: {counts}"


def skip_summary(decisions: Sequence[PartnerDecision], limit: int = 1000) -> str:
    """A skipped tick's reason: the headline, then each partner's reason."""
    details = "; ".join(f"{d.slug}: {d.reason}" for d in decisions)
    return f"{tick_headline(decisions)}. {details}"[:limit]
