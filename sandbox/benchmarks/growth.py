"""The growth table and chart: saved `p88 bench --json` runs of several scales, side by side.

`p88 bench --growth tiny.json small.json seed.json 10x.json --chart growth.png` renders them; the
runs are made once (docs/performance.md gives the commands), the table from their JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Run = dict[str, Any]
ORDER = ("tiny", "small", "seed", "10x")


def _ordered(runs: list[Run]) -> list[Run]:
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(
        runs, key=lambda r: (rank.get(r["scale"], len(ORDER)), r["world"]["participants"])
    )


def _strategy(run: Run, name: str) -> dict[str, Any] | None:
    return run["strategies"].get(name)


def _calls(s: dict[str, Any]) -> str:
    calls, minimum = s["nightly_api_calls"], s["nightly_minimum_calls"]
    return f"{calls:,.0f} / {minimum:,.0f} = {calls / minimum:.2f}x" if minimum else f"{calls:,.0f}"


def _seconds(key: str) -> Callable[[dict[str, Any]], str]:
    def cell(s: dict[str, Any]) -> str:
        value = s.get(key)
        if value is None:
            return "-"
        return f"{value:,.1f}" + (
            "*" if key.startswith("nightly_latency") and s.get("nightly_latency_modelled") else ""
        )

    return cell


def _number(key: str, fmt: str = "{:,.0f}") -> Callable[[dict[str, Any]], str]:
    return lambda s: "-" if s.get(key) is None else fmt.format(s[key])


def _excess(s: dict[str, Any]) -> str:
    by_provider = s.get("nightly_by_provider")
    if not by_provider:
        return "-"
    return ", ".join(
        f"{name} {row['calls'] - row['minimum']:+d} ({row['over']}/{row['accounts']} accounts"
        + (f", {row['proving']} proving pages)" if "proving" in row else ")")
        for name, row in sorted(by_provider.items())
    )


def _spread(s: dict[str, Any]) -> str:
    values = sorted((s.get("partner_rss_mb") or {}).values())
    if not values:
        return "-"
    return f"{values[len(values) // 2]:.0f} / {values[int(len(values) * 0.9)]:.0f}"


STRATEGY_ROWS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("nightly calls / minimum", _calls),
    ("nightly calls over the minimum, where", _excess),
    ("nightly wall s @latency", _seconds("nightly_latency_wall_s")),
    ("full first sync wall s", _seconds("full_wall_s")),
    ("full first sync rows", _number("full_rows")),
    ("load rows/s (full first sync)", _number("load_rows_per_s")),
    ("peak RSS MB, one partner process", _number("partner_peak_rss_mb")),
    ("  same, full sync: median / p90 of partners", _spread),
    ("peak RSS MB, total", _number("peak_rss_mb")),
    ("mismatches vs truth", _number("mismatches")),
)
ALL_EVENTS_ROWS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("every event: rows", _number("all_events_rows")),
    ("every event: wall s", _seconds("all_events_wall_s")),
    ("every event: load rows/s", _number("all_events_load_rows_per_s")),
    ("every event: peak RSS MB, one partner process", _number("all_events_partner_peak_rss_mb")),
    ("every event: peak RSS MB, total", _number("all_events_peak_rss_mb")),
    ("every event: mismatches", _number("all_events_mismatches")),
)


def growth_table(runs: list[Run], strategies: tuple[str, ...] = ("p88", "seed-optimized")) -> str:
    """Markdown: one column per scale, one block of rows per strategy."""
    runs = _ordered(runs)
    header = "| | " + " | ".join(f"`{r['scale']}`" for r in runs) + " |"
    lines = [header, "|---" * (len(runs) + 1) + "|"]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for key in ("partners", "events", "participants"):
        row(key, [f"{r['world'][key]:,}" for r in runs])
    row("harness (sandbox) peak RSS MB", [f"{r.get('sandbox_peak_rss_mb', 0):,.0f}" for r in runs])
    row("repetitions (medians of)", [str(r["repeat"]) for r in runs])
    for name in strategies:
        present = [_strategy(r, name) for r in runs]
        if not any(present):
            continue
        for label, cell in STRATEGY_ROWS:
            row(f"**{name}**: {label}", [cell(s) if s else "not run" for s in present])
        if any(s and "all_events_rows" in s for s in present):
            for label, cell in ALL_EVENTS_ROWS:
                row(f"**{name}**: {label}", [cell(s) if s else "not run" for s in present])
    return "\n".join(lines)


def growth_chart(runs: list[Run], path: Path) -> Path | None:
    """Log-log against participants: cost grows along the dotted linear guide; memory stays flat."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    runs = _ordered(runs)
    x = [r["world"]["participants"] for r in runs]
    p88 = [r["strategies"]["p88"] for r in runs]
    panels = (
        (
            "calls and rows (log-log)",
            (
                ("nightly calls", [s["nightly_api_calls"] for s in p88]),
                ("nightly minimum", [s["nightly_minimum_calls"] for s in p88]),
                ("rows, every event", [s.get("all_events_rows") for s in p88]),
            ),
        ),
        (
            "wall seconds (log-log)",
            (
                ("full first sync", [s["full_wall_s"] for s in p88]),
                ("every event, full", [s.get("all_events_wall_s") for s in p88]),
                ("nightly @latency", [s["nightly_latency_wall_s"] for s in p88]),
            ),
        ),
        (
            "peak RSS MB (log x)",
            (
                ("one partner process", [s["partner_peak_rss_mb"] for s in p88]),
                ("p88 total (4 in parallel)", [s["peak_rss_mb"] for s in p88]),
                ("sandbox + harness", [r.get("sandbox_peak_rss_mb") for r in runs]),
            ),
        ),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(14, 4))
    for i, (ax, (title, lines)) in enumerate(zip(axes, panels, strict=True)):
        for label, values in lines:
            points = [(a, v) for a, v in zip(x, values, strict=True) if v]
            ax.plot(*zip(*points, strict=True), marker="o", label=label)
        ax.set_xscale("log")
        if i < 2:
            ax.set_yscale("log")
            last = lines[0][1][-1]  # through the largest world's point: fixed costs show left
            ax.plot(x, [last * a / x[-1] for a in x], ":", color="grey", label="linear")
        else:
            ax.set_ylim(bottom=0)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("participants in the world")
        ax.legend(fontsize=7)
        ax.set_xticks(x, [f"{r['scale']}\n{a:,}" for r, a in zip(runs, x, strict=True)], fontsize=7)
        ax.minorticks_off()
    fig.suptitle("p88 growth: tiny, small, seed, 10x", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
