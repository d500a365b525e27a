"""Which partners are due for an incremental run, and for which events: the watermark sensor's
decision, kept pure.

Rule 7 (sync.freshness_plan) decides per event: a partner is due when one of its future events is
due (never synced, or its lag reaching its proximity target), and its run syncs only the chosen
events (`due_events`, nearest first within the quota budget) without re-reading the events list
unless that is older than the longest target. A partner with no events stored yet gets a whole
run (it reads the list). The run key names the partner, a digest of the chosen events and their
watermarks (Dagster skips a run key it has seen for a sensor forever), and the window of the
tightest target among them, so a run that failed and left the watermarks where they were is
retried once per target, never once per tick.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from p88_pipeline.config.partners import Partner
from p88_pipeline.freshness.inputs import PartnerInputs, plan_partner
from p88_pipeline.freshness.plan import FreshnessPlan, minutes
from p88_pipeline.freshness.staleness import PartnerFreshness


@dataclass(frozen=True)
class DagsterView:
    """What Dagster says of who may get a run: the partners registered as partitions (None: all
    of them) and those with a sync queued or running."""

    registered: Collection[str] | None = None
    busy: Collection[str] = ()


@dataclass(frozen=True)
class PartnerDecision:
    """Due or not, why, and (when due) the run key the sensor requests the run under."""

    slug: str
    due: bool
    reason: str
    run_key: str | None = None
    due_events: tuple[str, ...] | None = None  # provider:event_id; None: a whole run
    plan: FreshnessPlan | None = None


def interval_window(now: datetime, interval_minutes: int) -> int:
    """Index of the interval-long slot `now` falls in; it changes once per interval."""
    return int(now.timestamp() // (max(interval_minutes, 1) * 60))


def run_key(slug: str, label: str, now: datetime, interval_minutes: int) -> str:
    return f"{slug}:{label}:w{interval_window(now, interval_minutes)}"


def due_digest(plan: FreshnessPlan) -> str:
    """Short digest of the chosen events and their watermarks: a new key once they move."""
    parts = sorted(
        f"{j.event.provider}:{j.event.event_id}@{j.event.watermark}" for j in plan.chosen
    )
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


def decide_partner(
    partner: Partner,
    freshness: PartnerFreshness | None,
    now: datetime,
    inputs: PartnerInputs | None = None,
) -> PartnerDecision:
    """The rule for one active partner; see the module docstring."""
    targets = partner.targets
    if freshness is None or freshness.events == 0:
        return PartnerDecision(
            partner.slug,
            True,
            "no events stored yet",
            run_key(partner.slug, "no-events", now, targets.soon_minutes),
        )
    if freshness.future_events == 0:
        return PartnerDecision(
            partner.slug, False, "no future events (the nightly run looks for new ones)"
        )
    plan = plan_partner(partner, inputs or PartnerInputs(), now)
    if plan.chosen:
        due = plan.due
        bands = Counter(targets.label(j.band) for j in due if j in plan.chosen)
        never = sum(1 for j in due if j.lag is None)
        reason = (
            f"{len([j for j in due if j in plan.chosen])} events due ("
            + ", ".join(f"{n} {band}" for band, n in bands.items())
            + (f"; {never} never synced" if never else "")
            + f"), {len(plan.chosen)} synced, ~{sum(plan.calls.values()):.0f} calls"
        )
        if plan.missed:
            reason += f"; {plan.missed_text(targets)}"
        tightest = min(j.target for j in plan.chosen if j.due)
        return PartnerDecision(
            partner.slug,
            True,
            reason,
            run_key(
                partner.slug, f"due-{due_digest(plan)}", now, int(tightest.total_seconds() // 60)
            ),
            tuple(plan.due_ids()),
            plan,
        )
    if plan.missed:
        return PartnerDecision(partner.slug, False, plan.missed_text(targets), plan=plan)
    lead = timedelta(minutes=targets.lead_minutes)
    waits = [j.target - lead - j.lag for j in plan.judged if j.lag is not None]
    soonest = f"next event due in {minutes(min(waits))}" if waits else "nothing to sync"
    return PartnerDecision(partner.slug, False, f"fresh: {soonest}", plan=plan)


def plan_incremental_runs(
    partners: Sequence[Partner],
    freshness: Mapping[str, PartnerFreshness],
    now: datetime,
    *,
    dagster: DagsterView = DagsterView(),
    inputs: Mapping[str, PartnerInputs] | None = None,
) -> list[PartnerDecision]:
    """One decision per partner, in partners-file order.

    Inactive partners never run; partners not yet registered as partitions wait for the partitions
    sensor (a run request for an unknown partition fails the tick); partners with a queued or
    running sync wait for it (it will move their watermarks).
    """
    registered, busy = dagster.registered, dagster.busy
    decisions = []
    for partner in partners:
        if not partner.active:
            decisions.append(PartnerDecision(partner.slug, False, "inactive"))
        elif registered is not None and partner.slug not in registered:
            decisions.append(PartnerDecision(partner.slug, False, "not yet a partition"))
        elif partner.slug in busy:
            decisions.append(PartnerDecision(partner.slug, False, "a sync is queued or running"))
        else:
            decisions.append(
                decide_partner(
                    partner, freshness.get(partner.id), now, (inputs or {}).get(partner.id)
                )
            )
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
