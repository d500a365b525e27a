"""Mutation check of the rule modules (issue 17) with mutmut: not part of CI (it takes long).

    nice -n 19 .venv/bin/python scripts/mutation.py                  # every rule module
    nice -n 19 .venv/bin/python scripts/mutation.py sync/plan.py lib/redaction.py
    nice -n 19 .venv/bin/python scripts/mutation.py --sample 7 sync/engine.py   # ~10 %
    .venv/bin/python scripts/mutation.py --list                      # modules and their tests
    .venv/bin/python scripts/mutation.py --census                    # mutants per module
    nice -n 19 .venv/bin/python scripts/mutation.py sync/group.py --names \\
        'p88_pipeline.sync.group.x__sync_group__mutmut_3' ...           # re-run survivors only

Per module, mutmut runs in a copy of the checkout (under $TMPDIR, never in the work tree) with
only that module mutated and only that module's tests selected (TESTS below); within those,
mutmut runs for each mutant just the tests that called the mutated function. One embedded
PostgreSQL serves every mutant's test databases (P88_TEST_DATABASE_URL) and is stopped at the
end. Survivors are printed with their diffs; docs/testing.md records the last full figures.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# The engine's rules end to end (sandbox over HTTP + database, about 0.5 s a test): the rules
# suite, the provider-specific engine tests and the failure paths (a failing race, refused races,
# untimed records, records the guard refuses, refused races marked inaccessible). The engine's
# code is the same whatever the provider, so the suites parametrized over providers run for
# RunSignUp only ("file[id]": only the parametrizations whose id contains `id`), plus the rules
# for the test suite's registered third client (it lacks the optional `listed_from`); Haku's own
# engine paths are listed whole. A surviving mutant runs every selected test: minutes under load
# with the full parametrization.
ENGINE_TESTS = [
    "sync/test_group.py",
    "sync/test_engine_live.py",
    "sync/test_group_reads.py",
    "sync/test_engine_stage3.py",
    "sync/test_rules.py[runsignup]",
    "sync/test_rules.py[restful]",  # a registered client without listed_from (the default)
    "providers/test_haku_engine.py",
    "providers/test_runsignup_engine.py",
    "reliability/test_failures.py[runsignup]",
    "reliability/test_refused_reads.py",
    "reliability/test_untimed_records.py",
    "reliability/test_record_faults.py[runsignup]",
    "reliability/test_event_lifecycle.py",
]
# Rule module (glob under p88_pipeline/) -> the tests that state its rules. First match wins;
# None: not a rule module.
TESTS: list[tuple[str, list[str] | None]] = [
    ("sync/plan.py", ["sync/test_plan.py"]),
    ("sync/schedule_plan.py", ["sync/test_schedule_plan.py"]),
    ("sync/guard.py", ["sync/test_guard.py", "reliability/test_record_faults.py"]),
    (
        "freshness/due_runs.py",
        ["sync/test_stale_watermarks_plan.py", "sync/test_stale_watermarks_decisions.py"],
    ),
    ("sync/outcome.py", ["sync/test_outcome.py"]),
    ("sync/cancel.py", ["sync/test_outcome.py", "reliability/test_failures.py"]),
    ("sync/figures.py", ["sync/test_outcome.py", "reliability/test_failures.py"]),
    ("sync/caps.py", ["reliability/test_refused_reads.py", "sync/test_rules.py"]),
    (
        "freshness/plan.py",
        [
            "sync/test_freshness_plan.py",
            "sync/test_freshness_budget.py",
            "sync/test_stale_watermarks_plan.py",
        ],
    ),
    (
        "freshness/inputs.py",
        [
            "sync/test_freshness_inputs.py",
            "sync/test_stale_watermarks_plan.py",
            "defs/test_stale_watermarks_sensor.py",
            "defs/test_due_runs.py",
        ],
    ),
    ("sync/live.py", ["commands/test_progress.py"]),
    ("sync/*", ENGINE_TESTS),
    (
        "warehouse/participants.py",
        ["warehouse/test_participants_writer.py", "reliability/test_text_columns.py"],
    ),
    (
        "warehouse/copy.py",
        [
            "warehouse/test_copy.py",
            "warehouse/test_participants_writer.py",
            "warehouse/test_events_store.py",
            "reliability/test_text_columns.py",
        ],
    ),
    ("providers/quota.py", ["providers/test_quota.py"]),
    (
        "providers/paging.py",
        [
            "providers/test_paging.py",
            "providers/test_paging_wider.py",
            "providers/test_runsignup_engine.py",
        ],
    ),
    (
        "providers/timeparse.py",
        [
            "providers/test_timeparse.py",
            "providers/test_runsignup_parsing.py",
            "providers/test_haku_records.py",
        ],
    ),
    (
        "providers/http.py",
        [
            "providers/test_http.py",
            "providers/test_runsignup_answers.py",
            "providers/test_haku_client.py",
            "reliability/test_transport_faults.py",
            "reliability/test_security.py",
        ],
    ),
    # The specs: facts the registry and the partners file read.
    (
        "providers/*/spec.py",
        ["providers/test_provider_parts.py", "config/test_partners.py"],
    ),
    # The doctor's live checks against the sandbox (`p88 doctor`): the probes' only callers.
    ("providers/probe.py", ["providers/test_probe_judgments.py", "commands/test_doctor.py"]),
    ("providers/haku/probe.py", ["providers/test_haku_probe.py", "commands/test_doctor.py"]),
    (
        "providers/runsignup/probe.py",
        ["providers/test_runsignup_probe.py", "commands/test_doctor.py"],
    ),
    ("providers/*probe.py", ["commands/test_doctor.py"]),
    (
        "providers/haku/*",
        [
            "providers/test_haku_client.py",
            "providers/test_haku_events_list.py",
            "providers/test_haku_records.py",
            "providers/test_haku_probe.py",  # the detail endpoint's only caller is the probe
            "providers/test_haku_engine.py",
            "sync/test_rules.py[haku]",
            "reliability/test_refused_reads.py",
            "reliability/test_transport_faults.py[haku]",
            "reliability/test_record_faults.py[haku]",
            "sync/test_reading_switches.py[haku]",
        ],
    ),
    (
        "providers/runsignup/*",
        [
            "providers/test_runsignup_parsing.py",
            "providers/test_runsignup_answers.py",
            "providers/test_provider_parts.py",
            "providers/test_runsignup_engine.py",
            "sync/test_rules.py[runsignup]",
            "reliability/test_refused_reads.py",
            "reliability/test_transport_faults.py[runsignup]",
            "reliability/test_record_faults.py[runsignup]",
            "reliability/test_event_lifecycle.py",
            "sync/test_reading_switches.py[runsignup]",
        ],
    ),
    (
        "providers/[bfrs]*.py",  # base, build, fields, registry, spec: the shared small parts
        [
            "providers/test_provider_parts.py",
            "providers/test_runsignup_parsing.py",
            "providers/test_haku_records.py",
            "sync/test_rules.py",
        ],
    ),
    ("providers/*", ["providers/", "sync/test_rules.py", "reliability/test_record_faults.py"]),
    ("lib/redaction.py", ["lib/test_redaction.py", "reliability/test_security.py"]),
    ("config/partners.py", ["config/test_partners.py", "sync/test_freshness_plan.py"]),
]
# Lines whose statements are not mutated: log calls. Their wording is a diagnostic, not a rule
# (the messages an operator acts on are exceptions and sync_runs errors: those are mutated and
# asserted); mutating them only adds survivors that cost a whole test selection each.
DO_NOT_MUTATE = [r"^\s*(log|logger)\.(debug|info|warning|error|exception)\("]
COPY = [
    "p88_pipeline",
    "p88_pipeline_tests",
    "sandbox",
    "sql",
    "pyproject.toml",
    "partners.example.yaml",
    "dagster.yaml",
    "workspace.yaml",
]


def rule_modules(patterns: list[str]) -> list[str]:
    """Modules (relative to p88_pipeline/) that are rule modules and match `patterns`."""
    package = ROOT / "p88_pipeline"
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if path.name == "__init__.py" or not tests_for(rel):
            continue
        if not patterns or any(fnmatch.fnmatch(rel, p) or rel == p for p in patterns):
            found.append(rel)
    return found


def tests_for(module: str, expand: bool = False) -> list[str]:
    """The module's test selection; with `expand`, "file[id]" becomes that file's node ids whose
    parametrization contains `id` (plus its unparametrized tests)."""
    tests = next((t for glob, t in TESTS if fnmatch.fnmatch(module, glob)), None) or []
    found = []
    for test in tests:
        path, _, only = test.partition("[")
        if not (ROOT / "p88_pipeline_tests" / path).exists():
            continue
        if not only or not expand:
            found.append(f"p88_pipeline_tests/{test}")
            continue
        listing = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
            + [f"p88_pipeline_tests/{path}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        only = only.rstrip("]")
        found += [
            n for n in listing.split() if "::" in n and ("[" not in n or only in n.split("[", 1)[1])
        ]
    return found


def write_config(work: Path, module: str, tests: list[str]) -> None:
    """Append this run's [tool.mutmut] to the copy's pyproject.toml (the checkout's has none)."""
    also_copy = [c for c in COPY if c not in ("p88_pipeline", "pyproject.toml")]
    with (work / "pyproject.toml").open("a") as out:
        out.write(
            "\n[tool.mutmut]\n"
            'source_paths = ["p88_pipeline"]\n'
            f"only_mutate = {json.dumps(['p88_pipeline/' + module])}\n"
            f"also_copy = {json.dumps(also_copy)}\n"
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
            f"do_not_mutate_patterns = {json.dumps(DO_NOT_MUTATE)}\n"
            f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        )


def run_module(
    module: str, database_url: str, children: int, sample: str = "", only: Sequence[str] = ()
) -> dict[str, list[str]]:
    tests = tests_for(module, expand=True)
    with tempfile.TemporaryDirectory(prefix="p88-mutation-") as tmp:
        work = Path(tmp)
        for name in COPY:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, work / name)
        write_config(work, module, tests)
        env = {**os.environ, "P88_TEST_DATABASE_URL": database_url}
        print(f"== {module}: tests {' '.join(tests)}", flush=True)
        # A sample: only mutants whose number ends in one of `sample`'s digits (every mutant is
        # numbered in code order within its function, so this is a systematic sample).
        names = list(only) or ([f"p88_pipeline.*__mutmut_*[{sample}]"] if sample else [])
        run = subprocess.run(
            [str(VENV_BIN / "mutmut"), "run", "--max-children", str(children), *names],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:  # e.g. the clean run failed: say why instead of "not checked"
            print(run.stdout[-3000:], run.stderr[-3000:], sep="\n", flush=True)
        listing = subprocess.run(
            [str(VENV_BIN / "mutmut"), "results", "--all", "true"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        by_status: dict[str, list[str]] = {}
        for line in listing.splitlines():
            name, _, status = line.strip().rpartition(": ")
            if name:
                by_status.setdefault(status, []).append(name)
        for name in by_status.get("survived", []) + by_status.get("no tests", []):
            diff = subprocess.run(
                [str(VENV_BIN / "mutmut"), "show", name],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            print(diff, flush=True)
        return by_status


def census(modules: list[str]) -> int:
    """How many mutants mutmut makes of each module with this configuration (the denominator
    of the score over all rule modules), without running anything."""
    from types import SimpleNamespace

    from mutmut.mutation import file_mutation, pragma_handling

    settings = SimpleNamespace(do_not_mutate_patterns=DO_NOT_MUTATE)
    pragma_handling.config = lambda: settings  # what `mutmut run` reads from [tool.mutmut]
    total = 0
    for module in modules:
        path = ROOT / "p88_pipeline" / module
        count = len(file_mutation.mutate_file_contents(str(path), path.read_text()).mutant_names)
        total += count
        print(f"{module}: {count}")
    print(f"TOTAL: {total}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="rule modules under p88_pipeline/ (globs)")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--list", action="store_true", help="list modules and their tests")
    parser.add_argument(
        "--census", action="store_true", help="count each module's mutants (nothing is run)"
    )
    parser.add_argument(
        "--sample",
        default="",
        metavar="DIGITS",
        help="run only mutants whose number ends in one of these digits (e.g. 7: about 10%%)",
    )
    parser.add_argument(
        "--names",
        nargs="+",
        default=[],
        metavar="MUTANT",
        help="run only these mutants (names as printed): a previous run's survivors again",
    )
    args = parser.parse_args()
    modules = rule_modules(args.modules)
    if args.census:
        return census(modules)
    if args.list or not modules:
        for module in modules:
            print(f"{module}: {' '.join(tests_for(module))}")
        return 0 if modules else 2

    sys.path.insert(0, str(ROOT))
    from p88_pipeline.warehouse.embedded import embedded_url
    from p88_pipeline.warehouse.embedded_admin import stop_server

    pg_root = Path(tempfile.mkdtemp(prefix="p88-mutation-pg-"))
    totals: dict[str, int] = {}
    try:
        url = embedded_url(pg_root / "pgdata")
        for module in modules:
            by_status = run_module(module, url, args.children, args.sample, args.names)
            counts = {status: len(names) for status, names in by_status.items()}
            print(f"## {module}: {json.dumps(counts)}", flush=True)
            for status, n in counts.items():
                totals[status] = totals.get(status, 0) + n
    finally:
        stop_server(pg_root / "pgdata")
        shutil.rmtree(pg_root, ignore_errors=True)
    tested = sum(totals.values())
    killed = totals.get("killed", 0) + totals.get("timeout", 0)
    print(f"TOTAL {json.dumps(totals)}: {killed}/{tested} killed or timed out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
