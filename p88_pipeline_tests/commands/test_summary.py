"""What `p88 sync` prints and returns, as plain functions: failures first with cause and fix,
and an exit code that is 0 only when every requested partner synced completely."""

from __future__ import annotations

import json
import signal

from p88_pipeline.commands.summary import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    Line,
    cause_text,
    exit_code,
    render,
)


def test_exit_code_is_zero_only_when_everything_synced_completely() -> None:
    assert exit_code(["success", "success"], None) == EXIT_OK
    assert exit_code(["success", "quota_exhausted"], None) == EXIT_PARTIAL
    assert exit_code(["busy"], None) == EXIT_PARTIAL
    assert exit_code(["quota_exhausted", "failed"], None) == EXIT_FAILED
    assert exit_code(["success", "interrupted"], None) == EXIT_FAILED
    assert exit_code(["success"], signal.SIGINT) == 130
    assert exit_code(["failed"], signal.SIGTERM) == 143


def test_the_summary_puts_failures_first_aligned() -> None:
    lines = render(
        [
            Line("success", "alpha", "haku", "events 3", "a" * 36),
            Line("failed", "bravo", "runsignup", "AuthError: refused -> fix it", "b" * 36),
            Line("quota_exhausted", "charlie", "runsignup", "budget spent", None),
        ]
    )
    assert lines[0].startswith("FAILED           bravo    runsignup  AuthError: refused")
    assert lines[1].startswith("QUOTA_EXHAUSTED  charlie  runsignup  budget spent")
    assert lines[2] == f"success          alpha    haku       events 3  [run {'a' * 8}]"


def test_the_cause_is_the_exception_s_own_message_with_the_fix() -> None:
    errors = [
        {
            "race_id": "100004",
            "event_ids": ["600006"],
            "error": "ProviderError: runsignup partner bravo: http://x/Rest/race/100004/"
            "participants: answer is not JSON: '<html>'",
        },
        {"race_id": "100005", "event_ids": ["600007"], "error": "ProviderError: the same"},
    ]
    text = cause_text(errors)
    assert text.startswith("race 100004: ProviderError: runsignup partner bravo")
    assert "(+1 more)" in text and text.endswith("check base_url in the partners file")
    wrapped = "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred\nstack"
    assert cause_text([], wrapped) == "DagsterExecutionStepExecutionError: Error occurred"


def test_when_nothing_ran_json_is_still_one_document_on_stdout(capsys) -> None:
    from p88_pipeline.commands.summary import EXIT_FAILED, EXIT_INACTIVE
    from p88_pipeline.commands.sync_report import nothing_ran

    assert nothing_ran(EXIT_INACTIVE, "nothing to do: bravo: inactive", True) == EXIT_INACTIVE
    assert nothing_ran(EXIT_FAILED, "the database is unreachable: refused", True) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert [json.loads(x) for x in out.splitlines()] == [
        {
            "exit_code": 4,
            "status": "nothing_to_do",
            "reason": "nothing to do: bravo: inactive",
            "results": [],
        },
        {
            "exit_code": 1,
            "status": "failed",
            "reason": "the database is unreachable: refused",
            "results": [],
        },
    ]
    assert err == ""
