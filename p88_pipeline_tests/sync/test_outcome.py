"""How a sync ended, in words an operator acts on: status, cause and fix (sync/outcome.py), the
run's figures and their failure message (sync/figures.py), and the stop request (sync/cancel.py).
Plain functions, so every pattern and word is checked exactly (mutation check, docs/testing.md)."""

from __future__ import annotations

import pytest

from p88_pipeline.sync import cancel
from p88_pipeline.sync.figures import SyncFailedError, SyncFigures
from p88_pipeline.sync.outcome import TERMINAL, describe, fix_for, plain, status_of

UNSET = "export that variable in the environment p88 and Dagster run in"
CREDENTIALS = "check the credential values in the variables named (the provider refused them)"
BUSY = (
    "another sync of this partner is running; let it finish (or wait for it to be reconciled), "
    "then run again"
)
BUDGET = (
    "the hourly call budget is spent; the rest resumes on the next run (raise quota_per_hour "
    "only if the provider allows it)"
)
NOT_JSON = "the server did not answer JSON: check base_url in the partners file"
DATABASE = (
    "the database stopped answering: check PostgreSQL is running (P88_DATABASE_URL, "
    "DAGSTER_PG_URL), then run p88 sync again"
)
UNREACHABLE = "check that the server is reachable (base_url, P88_DATABASE_URL, network)"
REFUSED = (
    "the provider refuses this race for these credentials: check the race still belongs to "
    "this partner"
)


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("PartnerConfigError: expects environment variable X, which is not set", UNSET),
        ("AuthError: haku partner a: credentials refused (HTTP 401)", CREDENTIALS),
        ("X: Authentication Failed", CREDENTIALS),
        ("AuthError: nope", CREDENTIALS),
        ("PartnerBusyError: x", BUSY),
        ("RuntimeError: another sync holds its lock; not starting", BUSY),
        ("QuotaExhaustedError: 1000 calls", BUDGET),
        ("ThrottledError: error 14", BUDGET),
        ("X: call budget spent", BUDGET),
        ("MalformedPage: page 3", NOT_JSON),
        ("ValueError: not JSON", NOT_JSON),
        ("JSONDecodeError: Expecting value: line 1", NOT_JSON),
        ("X: got <html><body>", NOT_JSON),
        ("OperationalError: server closed the connection unexpectedly", DATABASE),
        ("X: terminating connection due to administrator command", DATABASE),
        ("X: connection to server at 127.0.0.1 failed", DATABASE),
        ("X: all retries for DB connection used", DATABASE),
        ("ConnectionError: [Errno 111] Connection refused", UNREACHABLE),
        ("X: could not connect to server", UNREACHABLE),
        ("X: Name or service not known", UNREACHABLE),
        ("ReadTimeout: read timed out", UNREACHABLE),
        ("ProviderError: Permission denied", REFUSED),
        ("ProviderError: error 7", REFUSED),
        ("ProviderError: race not found", REFUSED),
        ("ProviderError: error 201", REFUSED),
        ("ProviderError: error 301", REFUSED),
        ("SyncInterruptedError: stop requested", "run p88 sync again to finish"),
        ("ProviderError: error 70", None),  # error 7 is a whole word
        ("KeyError: 'x'", None),
    ],
)
def test_each_cause_gets_its_fix(text: str, fix: str | None) -> None:
    assert fix_for(text) == fix


def test_statuses_by_exception_class() -> None:
    assert TERMINAL == ("success", "failed", "quota_exhausted", "busy", "interrupted")
    assert [
        status_of(name)
        for name in (
            "PartnerBusyError",
            "QuotaExhaustedError",
            "ThrottledError",
            "SyncInterruptedError",
            "KeyboardInterrupt",
            "DagsterExecutionInterruptedError",
            "ValueError",
        )
    ] == ["busy", "quota_exhausted", "quota_exhausted", "interrupted", "interrupted"] + [
        "interrupted",
        "failed",
    ]


def test_a_cause_is_the_first_line_without_the_module_path() -> None:
    assert plain("  dagster._core.errors.DagsterError: boom\nstack\n") == "DagsterError: boom"
    assert plain("see p88.Y: only at the start") == "see p88.Y: only at the start"
    assert plain("   ") == ""
    assert describe(ValueError("p88.x.Y: not JSON\nmore")) == {
        "error": "ValueError: Y: not JSON",
        "fix": NOT_JSON,
    }
    assert describe(KeyError("k")) == {"error": "KeyError: 'k'"}


def test_the_run_figures_and_a_failed_runs_message() -> None:
    figures = SyncFigures("haku", "alpha", events_future=3, events_synced=1, api_calls=9)
    figures.sync_types = {"1": "full", "2": "incremental", "3": "full"}
    assert figures.type_counts == {"full": 2, "incremental": 1}
    assert figures.figures() == {
        "events_total": 0,
        "events_future": 3,
        "events_synced": 1,
        "participants_upserted": 0,
        "participants_removed": 0,
        "participants_rejected": 0,
        "api_calls": 9,
        "duration_s": 0.0,
    }
    assert figures.as_dict()["sync_types"] == figures.sync_types
    figures.errors = [
        {"race_id": "r1", "event_ids": ["1", "2"], "error": "ProviderError: x"},
        {"error": "ValueError: y"},
    ]
    assert str(SyncFailedError(figures)) == (
        "haku partner alpha: 2 group(s) failed (1 of 3 future events synced): "
        "race r1 events 1,2: ProviderError: x; race None events : ValueError: y"
    )
    assert SyncFailedError(figures).figures is figures


def test_a_stop_request_is_raised_at_the_next_check_until_cleared() -> None:
    cancel.clear()
    cancel.check()
    assert not cancel.requested()
    cancel.request()
    try:
        assert cancel.requested()
        with pytest.raises(cancel.SyncInterruptedError) as caught:
            cancel.check()
        assert str(caught.value) == (
            "stop requested (Ctrl-C or SIGTERM): stopped at a page boundary"
        )
    finally:
        cancel.clear()
    assert not cancel.requested()
