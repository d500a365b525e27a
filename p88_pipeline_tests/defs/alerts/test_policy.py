"""Alert grouping rules: one message per failure streak, reminders, recovery; word-boundary cuts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from p88_pipeline.defs.alerts.policy import (
    AlertKind,
    LastAlert,
    cut_at_word,
    on_failure,
    on_success,
)

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
REMIND = timedelta(hours=4)


def test_first_failure_opens_a_streak() -> None:
    assert on_failure(None, T0, REMIND) == AlertKind.FAILURE
    recovered = LastAlert(AlertKind.RECOVERED, T0, T0)
    assert on_failure(recovered, T0 + timedelta(hours=1), REMIND) == AlertKind.FAILURE


def test_failures_within_the_interval_are_quiet_then_a_reminder() -> None:
    opened = LastAlert(AlertKind.FAILURE, T0, T0)
    assert on_failure(opened, T0 + timedelta(hours=3, minutes=59), REMIND) == AlertKind.REPEAT
    assert on_failure(opened, T0 + REMIND, REMIND) == AlertKind.REMINDER
    reminded = LastAlert(AlertKind.REMINDER, T0 + REMIND, T0)
    assert on_failure(reminded, T0 + timedelta(hours=5), REMIND) == AlertKind.REPEAT


def test_success_closes_only_an_open_streak() -> None:
    assert on_success(None) is None
    assert on_success(LastAlert(AlertKind.RECOVERED, T0, T0)) is None
    assert on_success(LastAlert(AlertKind.REMINDER, T0, T0)) == AlertKind.RECOVERED


def test_cut_at_word_never_splits_a_word() -> None:
    text = "HTTPError: 401 Unauthorized for partner bravo while listing races"
    assert cut_at_word(text, 200) == text
    assert cut_at_word(text, 30) == "HTTPError: 401 Unauthorized…"
    assert cut_at_word("x" * 50, 10) == "x" * 9 + "…"
    assert len(cut_at_word(text, 30)) <= 30
