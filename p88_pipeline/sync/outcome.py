"""How a sync ended, in words an operator acts on: the terminal status recorded in sync_runs, the
cause (the exception's own message, not Dagster's wrapper) and the fix where one is known."""

from __future__ import annotations

import re

from p88_pipeline.sync.cancel import SyncInterruptedError

TERMINAL = ("success", "failed", "quota_exhausted", "busy", "interrupted")

_STATUS_BY_CLASS = {
    "PartnerBusyError": "busy",
    "QuotaExhaustedError": "quota_exhausted",
    "ThrottledError": "quota_exhausted",
    SyncInterruptedError.__name__: "interrupted",
    "KeyboardInterrupt": "interrupted",
    "DagsterExecutionInterruptedError": "interrupted",
}

# (pattern on "ClassName: message", the fix). First match wins.
_FIXES: tuple[tuple[str, str], ...] = (
    (r"which is not set", "export that variable in the environment p88 and Dagster run in"),
    (
        r"credentials refused|authentication failed|AuthError",
        "check the credential values in the variables named (the provider refused them)",
    ),
    (
        r"another sync holds its lock|PartnerBusyError",
        "another sync of this partner is running; "
        "let it finish (or wait for it to be reconciled), then run again",
    ),
    (
        r"QuotaExhausted|Throttled|budget",
        "the hourly call budget is spent; the rest resumes on "
        "the next run (raise quota_per_hour only if the provider allows it)",
    ),
    (
        r"not JSON|Expecting value|<html|MalformedPage",
        "the server did not answer JSON: check base_url in the partners file",
    ),
    (
        r"retries for DB connection|server closed the connection|terminating connection|"
        r"connection to server .* failed",
        "the database stopped answering: check PostgreSQL is running (P88_DATABASE_URL, "
        "DAGSTER_PG_URL), then run p88 sync again",
    ),
    (
        r"Connection refused|could not connect|Name or service not known|timed out",
        "check that the server is reachable (base_url, P88_DATABASE_URL, network)",
    ),
    (
        r"Permission denied|error 7\b|not found|error 201|error 301",
        "the provider refuses this "
        "race for these credentials: check the race still belongs to this partner",
    ),
    (r"stop requested", "run p88 sync again to finish"),
)
_QUALIFIED = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*: )")


def status_of(class_name: str) -> str:
    return _STATUS_BY_CLASS.get(class_name, "failed")


def plain(message: str) -> str:
    """The first line of a message, `package.module.Class: ` shortened to `Class: `."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return _QUALIFIED.sub("", first)


def fix_for(text: str) -> str | None:
    for pattern, fix in _FIXES:
        if re.search(pattern, text, re.IGNORECASE):
            return fix
    return None


def describe(exc: BaseException) -> dict[str, str]:
    """A sync_runs `errors` entry for an exception that ended a step."""
    cause = f"{type(exc).__name__}: {plain(str(exc))}"
    entry = {"error": cause}
    if fix := fix_for(cause):
        entry["fix"] = fix
    return entry
