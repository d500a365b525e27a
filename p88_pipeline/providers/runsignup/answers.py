"""What RunSignUp's answers mean: errors inside HTTP 200 bodies (sometimes wrapped in an
array; error 14 is throttling) and where a multi-event keyset page goes on."""

from __future__ import annotations

from typing import Any

from p88_pipeline.providers.base import (
    AuthError,
    FilterRejectedError,
    InaccessibleError,
    MalformedResponseError,
    ProviderError,
)
from p88_pipeline.providers.fields import int_or_none
from p88_pipeline.providers.http import RetryableBody

THROTTLED = 14
TRANSIENT = {4, 5}  # unknown error, database error
AUTH = {6, 7}
RACE_REFUSED = {7, 201, 301}  # permission denied, race not found, event not found (race calls)
FILTER = {3, 9}  # invalid parameters, invalid date: the filter may be what was refused


def find_error(body: Any) -> dict | None:
    """The `{"error": {...}}` object of a body, bare or wrapped in a one-element array."""
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return None


def check_body(body: Any, *, filtered: bool = False, race_call: bool = False) -> None:
    """`race_call`: a call about one race (participants, removed-participants), where error 7
    means this race refuses us, not that the keys are refused (issue 13)."""
    error = find_error(body)
    if error is None:
        return
    code = int_or_none(error.get("error_code"))
    message = f"RunSignUp error {code}: {error.get('error_msg', '')}"
    if code == THROTTLED:
        raise RetryableBody(message, throttled=True)
    if code in TRANSIENT:
        raise RetryableBody(message)
    if race_call and code in RACE_REFUSED:
        raise InaccessibleError(message, code=code)
    if code in AUTH:
        raise AuthError(message, code=code)
    if filtered and code in FILTER:
        raise FilterRejectedError(message, code=code)
    raise ProviderError(message, code=code)


def next_keyset(
    per_event_ids: dict[str, list[int]], page_size: int, counts: dict[str, int] | None = None
) -> int | None:
    """Where the next page starts, or None when the read is complete.

    Whether the page size applies per event or to the whole multi-event answer is undocumented;
    both readings give the same answer here, re-reading at most a few ids (upserts absorb them).
    `counts` are the records each event block held: a full page whose records are not all
    readable (one without an id) is still full, and the read goes on after its last id.
    """
    counts = counts or {e: len(ids) for e, ids in per_event_ids.items()}
    everything = [i for ids in per_event_ids.values() for i in ids]
    full = [e for e in per_event_ids if counts[e] >= page_size]
    if any(not per_event_ids[e] for e in full) or (
        sum(counts.values()) >= page_size and not everything
    ):
        raise MalformedResponseError("a full page without a readable registration_id")
    if full:
        return min(per_event_ids[e][-1] for e in full)
    if sum(counts.values()) >= page_size:
        return max(everything)
    return None
