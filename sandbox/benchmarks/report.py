"""Readable output of `p88 bench`: the side-by-side table, the targets, and a chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROWS = (
    ("full first sync: wall s", "full_wall_s", "{:.1f}"),
    ("full first sync: API calls", "full_api_calls", "{:.0f}"),
    ("full first sync: events listed", "full_events_listed", "{:.0f}"),
    ("full first sync: events synced", "full_events_synced", "{:.0f}"),
    ("full first sync: rows written", "full_rows", "{:.0f}"),
    ("load stage rows/s", "load_rows_per_s", "{:,.0f}"),
    ("nightly: API calls", "nightly_api_calls", "{:.0f}"),
    ("nightly: mean calls per partner", "nightly_mean_calls_per_partner", "{:.0f}"),
    ("nightly: max calls per partner", "nightly_max_calls_per_partner", "{:.0f}"),
    ("nightly: minimum calls the data allows", "nightly_minimum_calls", "{:.0f}"),
    ("nightly: rows written", "nightly_rows", "{:.0f}"),
    ("nightly: wall s", "nightly_wall_s", "{:.2f}"),
    ("nightly @latency: wall s", "nightly_latency_wall_s", "{:.2f}"),
    ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
    ("every event, full sync: rows", "all_events_rows", "{:.0f}"),
    ("every event, full sync: wall s", "all_events_wall_s", "{:.1f}"),
    ("every event: load rows/s", "all_events_load_rows_per_s", "{:,.0f}"),
    ("every event, load alone: rows/s", "load_alone_rows_per_s", "{:,.0f}"),
    ("raw COPY floor: rows/s", "copy_floor_rows_s", "{:,.0f}"),
    ("every event: peak RSS MB", "all_events_peak_rss_mb", "{:.0f}"),
    ("race week: report + start lists s", "race_week_s", "{:.1f}"),
    ("race week: future events", "race_week_events", "{:.0f}"),
    ("race week: peak RSS MB", "race_week_peak_rss_mb", "{:.0f}"),
    ("mismatches vs truth", "mismatches", "{:.0f}"),
)


def table(result: dict[str, Any]) -> str:
    names = list(result["strategies"])
    width = max(len(label) for label, _, _ in ROWS) + 2
    lines = [
        f"p88 bench: scale {result['scale']}, seed {result['seed']}, medians of "
        f"{result['repeat']} (before: 1), latency {result['latency_ms']} ms, "
        f"{result['machine']['cpus']} cpus, {result['seconds']} s"
    ]
    lines.append("".ljust(width) + "".join(n.rjust(16) for n in names))
    for label, key, fmt in ROWS:
        cells = []
        for name in names:
            s = result["strategies"][name]
            value = s.get(key)
            text = "-" if value is None else fmt.format(value)
            if key == "nightly_latency_wall_s" and s.get("nightly_latency_modelled"):
                text += "*"
            cells.append(text.rjust(16))
        lines.append(label.ljust(width) + "".join(cells))
    if any(s.get("nightly_latency_modelled") for s in result["strategies"].values()):
        lines.append("* modelled: measured wall + calls x latency (calls run in series)")
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[tuple[str, bool, str]]:
    s = result["strategies"]
    p88, opt, before = s.get("p88"), s.get("seed-optimized"), s.get("before")
    checks: list[tuple[str, bool, str]] = []
    if p88:
        ratio = p88["nightly_api_calls"] / p88["nightly_minimum_calls"]
        checks.append(("nightly calls <= 1.2 x minimum", ratio <= 1.2, f"{ratio:.2f} x"))
        full = p88.get("all_events_wall_s", p88["full_wall_s"])
        rows = p88.get("all_events_rows", p88["full_rows"])
        checks.append(
            (f"full sync of all {rows:,.0f} participants <= 90 s", full <= 90, f"{full:.1f} s")
        )
        rss = max(p88["peak_rss_mb"], p88.get("all_events_peak_rss_mb", 0))
        checks.append(("peak RSS <= 600 MB", rss <= 600, f"{rss:.0f} MB"))
        if "race_week_s" in p88:
            week, week_rss = p88["race_week_s"], p88["race_week_peak_rss_mb"]
            checks.append(("race week report + export <= 10 s", week <= 10, f"{week:.1f} s"))
            checks.append(("race week peak RSS <= 400 MB", week_rss <= 400, f"{week_rss:.0f} MB"))
        # Like with like: the floor is a COPY alone on an idle server, so the load stage alone.
        load = p88.get("load_alone_rows_per_s") or p88.get(
            "all_events_load_rows_per_s", p88["load_rows_per_s"]
        )
        floor = p88.get("copy_floor_rows_s")
        if floor:
            share = load / floor
            checks.append(("load >= 40% of raw COPY", share >= 0.4, f"{share:.0%}"))
    wrong = {n: v["mismatches"] + v.get("all_events_mismatches", 0) for n, v in s.items()}
    checks.append(
        (
            "0 mismatches over every synced event, every strategy",
            not any(wrong.values()),
            ", ".join(f"{name} {count}" for name, count in wrong.items()),
        )
    )
    if p88 and (before or opt):
        # Per-row reference on the same rows: `before` loads every participant, as does the
        # every-event p88 run; without it, seed-optimized's future events vs p88's.
        reference = before if before and "all_events_load_rows_per_s" in p88 else opt
        if reference is before:  # before loads partners in series: the load stage alone
            load = p88.get("load_alone_rows_per_s") or p88["all_events_load_rows_per_s"]
        else:
            load = p88["load_rows_per_s"]
        per_row = reference["load_rows_per_s"]
        speed = load / per_row if per_row else float("inf")
        checks.append(
            (
                f"load >= 10x per-row rows/s ({reference['strategy']}, same rows)",
                speed >= 10,
                f"{speed:.1f} x",
            )
        )
    if p88 and opt:
        ratio = p88["nightly_api_calls"] / opt["nightly_api_calls"]
        checks.append(("nightly calls <= 0.5 x seed-optimized", ratio <= 0.5, f"{ratio:.2f} x"))
        speed = opt["nightly_latency_wall_s"] / p88["nightly_latency_wall_s"]
        checks.append(
            ("nightly @latency >= 5x faster than seed-optimized", speed >= 5, f"{speed:.1f} x")
        )
    world = result.get("world") or {}
    if before and world:
        # The seed's old system: every event and participant of the 13 partners, every night.
        read = (before["full_events_listed"], before["full_rows"])
        whole = (world["events"], world["participants"])
        checks.append(
            (
                "before reads every event and participant, as the seed's old system",
                read == whole,
                f"{read[0]:,.0f} of {whole[0]:,} events, {read[1]:,.0f} of {whole[1]:,} rows",
            )
        )
        checks.append(
            (
                "(info) before's nightly calls per partner vs the seed's ~670 of 1,000",
                True,
                f"{before['nightly_mean_calls_per_partner']:,.0f} mean, "
                f"{before['nightly_max_calls_per_partner']:,.0f} max",
            )
        )
    if p88 and world and "all_events_rows" in p88:
        rows = p88["all_events_rows"]
        checks.append(
            (
                "every event: every participant loaded",
                rows == world["participants"],
                f"{rows:,.0f} of {world['participants']:,}",
            )
        )
    if p88 and before:
        speed = before["full_wall_s"] / p88["full_wall_s"]
        checks.append(("(info) full sync vs before", True, f"{speed:.1f} x faster"))
    return checks


def chart(result: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    s = result["strategies"]
    names = list(s)
    panels = (
        ("nightly API calls", "nightly_api_calls"),
        (f"nightly wall s @{result['latency_ms']} ms", "nightly_latency_wall_s"),
        ("full first sync wall s", "full_wall_s"),
        ("load rows/s", "load_rows_per_s"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6))
    for ax, (title, key) in zip(axes, panels, strict=True):
        values = [s[n][key] for n in names]
        bars = ax.bar(names, values, color=["#b0b0b0", "#7fa7d6", "#1f5fa8"][: len(names)])
        ax.set_title(title + (" (log)" if key != "load_rows_per_s" else ""), fontsize=10)
        if key != "load_rows_per_s":
            ax.set_yscale("log")  # the strategies differ by orders of magnitude
        ax.tick_params(axis="x", labelsize=8)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                f"{value:,.0f}" if value >= 10 else f"{value:.1f}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    fig.suptitle(f"p88 bench, scale {result['scale']} (medians)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


GENERATED_FROM = "<!-- written by p88 bench --markdown from here -->"
GENERATED_TO = "<!-- written by p88 bench --markdown up to here -->"


def merged_report(existing: str | None, generated: str) -> str:
    """The page with its generated block replaced in place: what people wrote around the block
    (growth, orchestration, race week) stays. A page without the block is refused, never
    overwritten."""
    block = f"{GENERATED_FROM}\n{generated.rstrip()}\n{GENERATED_TO}\n"
    if existing is None:
        return block
    if GENERATED_FROM not in existing or GENERATED_TO not in existing:
        raise ValueError(
            f"the page has no generated block ({GENERATED_FROM!r} ... {GENERATED_TO!r}): "
            "refusing to overwrite what people wrote; add the two lines where the report goes"
        )
    head, rest = existing.split(GENERATED_FROM, 1)
    tail = rest.split(GENERATED_TO, 1)[1].lstrip("\n")
    return head + block + ("\n" + tail if tail else "")


def markdown(result: dict[str, Any], chart_name: str | None, command: str) -> str:
    """docs/performance.md: the figures, the targets, how they were made and how to redo them."""
    m = result["machine"]
    lines = [
        "# Performance",
        "",
        f"Measured with `{command}` ({result['seconds']:.0f} s) on {m['cpus']} CPUs, "
        f"{m['memory_gb']} GiB, Python {m['python']}, {m['platform']}; embedded PostgreSQL 18 "
        "on a Unix socket; the sandbox on 127.0.0.1 in the harness process, each strategy in "
        "its own worker process and database.",
        "",
        f"World: scale `{result['scale']}`, seed {result['seed']}. Each repetition builds the "
        "world anew, runs a full first sync, lets one simulated night pass (about 2% of "
        "future-event registrations new or modified, a few removed), runs a nightly sync, lets "
        f"another night pass and runs a nightly sync with {result['latency_ms']} ms of latency "
        f"per call. Figures are medians of {result['repeat']} repetitions (`before`: one; its "
        "latency run is modelled as measured wall time + calls x latency, since its calls run "
        "one after another).",
        "",
        "```",
        table(result),
        "```",
        "",
        "| target | result | |",
        "|---|---|---|",
    ]
    lines += [
        f"| {label} | {value} | {'PASS' if ok else 'FAIL'} |"
        for label, ok, value in targets(result)
    ]
    if chart_name:
        lines += ["", f"![three strategies]({chart_name})"]
    lines += ["", "## What the strategies are", ""]
    from benchmarks.strategies import STRATEGIES

    lines += [f"- **{s.name}**: {s.description}." for s in STRATEGIES.values()]
    lines += [
        "",
        "The minimum calls the data allows are computed from the sandbox's truth: per partner "
        "the event-list pages, then per race with future events the pages its changed "
        "registrations need (at least one: only asking tells that nothing changed) plus, on a "
        "nightly run, the removed-participants pages; per Haku event the pages its changed "
        "records need. The per-row strategies commit every row with `synchronous_commit = off`: "
        "still a round trip and a COMMIT per row, but no wait for each WAL flush, so their "
        "figures flatter them (the old system waited). The load rate is rows handed to the "
        "load stage per second of it (CSV "
        "encoding in Python included); the floor is a raw COPY of the same rows, already "
        "encoded, into an unindexed table, the median of three, taken once the loaded "
        "database is vacuumed (so autovacuum does not run beside it, nor beside the load "
        "alone and race week that follow). The every-event run loads while 4 partners fetch "
        "and parse and the sandbox serves, on 2 cores; the load-alone run loads the same rows "
        "one partner and one race group at a time, as the floor and `before` are measured, "
        "and the load targets are judged on it.",
    ]
    return "\n".join(lines) + "\n"
