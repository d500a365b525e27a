"""What `p88 sync` prints per partner and which exit code it returns: plain functions over the
sync_runs rows and what the supervisor saw, so every case has a plain test."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from p88_pipeline.sync.outcome import fix_for, plain

EXIT_OK = 0  # every requested partner synced completely
EXIT_FAILED = 1  # at least one partner failed (its line says why)
EXIT_USAGE = 2  # bad partners file or arguments: nothing was synced
EXIT_PARTIAL = 3  # incomplete but sound: quota spent or another sync of the partner running
EXIT_INACTIVE = 4  # nothing to do: every requested partner is inactive (or lacks the provider)
EXIT_BY_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}

ORDER = {"failed": 0, "interrupted": 1, "busy": 2, "quota_exhausted": 3, "success": 4}


@dataclass(frozen=True)
class Line:
    status: str
    partner: str
    provider: str
    text: str
    run_id: str | None = None
    row: Mapping[str, Any] | None = field(default=None, compare=False)  # its sync_runs row


def type_summary(sync_types: Mapping[str, str]) -> str:
    counts = Counter(sync_types.values())
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "none"


def figures_text(row: Mapping[str, Any]) -> str:
    return (
        f"events {row['events_total']} (future {row['events_future']}, synced "
        f"{row['events_synced']}: {type_summary(row['sync_types'] or {})}), participants "
        f"upserted {row['participants_upserted']}, removed {row['participants_removed']}, "
        f"rejected {row['participants_rejected']}, API calls {row['api_calls']}, "
        f"{row['duration_s']:.1f}s"
    )


def cause_text(errors: Sequence[Mapping[str, Any]], fallback: str | None = None) -> str:
    """The first error in plain words, how many more, and the fix where one is known."""
    if not errors:
        text = plain(fallback or "failed (no error recorded)")
        fix = fix_for(fallback or "")
    else:
        first = errors[0]
        where = f"race {first['race_id']}: " if first.get("race_id") else ""
        text = where + plain(str(first.get("error", "")))
        if len(errors) > 1:
            text += f" (+{len(errors) - 1} more)"
        fix = first.get("fix") or fix_for(str(first.get("error", "")))
    return f"{text} -> {fix}" if fix else text


def interrupted_text(row: Mapping[str, Any]) -> str:
    rolled = [e for e in row["errors"] or [] if "stop requested" in str(e.get("error", ""))]
    events = ",".join(i for e in rolled for i in e.get("event_ids", []))
    text = f"{row['events_synced']} of {row['events_future']} future events synced and committed"
    if events:
        text += f"; rolled back, watermarks untouched: events {events}"
    return text + "; the rest syncs on the next run"


def row_line(row: Mapping[str, Any], slug: str, worker_cause: str | None) -> Line:
    status = row["status"]
    if status == "running":  # the run ended without closing its row
        status, errors = "interrupted", row["errors"] or []
        text = cause_text(errors, worker_cause)
        return Line(status, slug, row["provider"], text, row["run_id"], row)
    if status == "success":
        text = figures_text(row)
    elif status == "interrupted":
        text = interrupted_text(row)
    elif status == "quota_exhausted":
        text = f"budget spent, the rest resumes next run; {figures_text(row)}"
    else:
        text = cause_text(row["errors"] or [], worker_cause)
    return Line(status, slug, row["provider"], text, row["run_id"], row)


def partner_lines(
    slug: str,
    rows: Sequence[Mapping[str, Any]],
    result: Mapping[str, Any],
    note: str | None,
    stopped: bool,
) -> list[Line]:
    """One line per provider the run recorded, or one for the partner when nothing was."""
    cause = result.get("cause")
    run_id = result.get("run_id")
    lines = [row_line(r, slug, cause) for r in rows]
    if result and not result.get("success") and all(x.status == "success" for x in lines):
        lines.append(Line("failed", slug, "-", cause_text([], cause), run_id))
    if not lines:
        if note:
            status = "interrupted" if stopped else "failed"
            lines.append(Line(status, slug, "-", note, run_id))
        elif result.get("success"):
            lines.append(Line("success", slug, "-", "nothing to sync", run_id))
        else:
            lines.append(Line("failed", slug, "-", cause_text([], cause), run_id))
    return lines


def render(lines: Iterable[Line]) -> list[str]:
    """Aligned, failures first."""
    ordered = sorted(lines, key=lambda x: (ORDER.get(x.status, 0), x.partner, x.provider))
    if not ordered:
        return []
    wide = [max(len(getattr(x, f)) for x in ordered) for f in ("status", "partner", "provider")]
    out = []
    for x in ordered:
        status = x.status.upper() if x.status != "success" else x.status
        run = f"  [run {x.run_id[:8]}]" if x.run_id else ""
        out.append(
            f"{status:<{wide[0]}}  {x.partner:<{wide[1]}}  {x.provider:<{wide[2]}}  {x.text}{run}"
        )
    return out


def exit_code(statuses: Iterable[str], stop_signal: int | None) -> int:
    if stop_signal is not None:
        return EXIT_BY_SIGNAL.get(signal.Signals(stop_signal), 128 + stop_signal)
    statuses = set(statuses)
    if statuses & {"failed", "interrupted"}:
        return EXIT_FAILED
    if statuses & {"quota_exhausted", "busy"}:
        return EXIT_PARTIAL
    return EXIT_OK
