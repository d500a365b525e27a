"""Rule 8's guard as a plain decision: which reads must not be committed, and why."""

from collections import Counter

from p88_pipeline.sync.guard import GuardPolicy, ReadTally, suspicious

POLICY = GuardPolicy()


def tally(read: dict[str, int], rejected: dict[str, int], **kwargs) -> ReadTally:
    t = ReadTally(read=Counter(read), **kwargs)
    for event_id, n in rejected.items():
        for _ in range(n):
            t.note_rejected(event_id, "missing last_modified")
    return t


def test_most_rows_rejected_fails_that_event_only() -> None:
    causes = suspicious(tally({"a": 4, "b": 9}, {"a": 6, "b": 1}), POLICY)
    assert causes == {"a": "6 of 10 rows rejected (first: missing last_modified)"}


def test_half_rejected_passes_and_small_reads_are_judged_only_when_every_row_is_rejected() -> None:
    assert suspicious(tally({"a": 5}, {"a": 5}), POLICY) == {}
    assert suspicious(tally({"a": 1}, {"a": 2}), POLICY) == {}  # 3 rows: too few for a share
    assert set(suspicious(tally({}, {"a": 1}), POLICY)) == {"a"}  # every row rejected


def test_a_full_read_dropping_most_active_rows_unannounced_fails() -> None:
    dropped = tally({"a": 40}, {}, active_before={"a": 100}, vanished={"a": 60})
    assert "soft-delete 60 of 100" in suspicious(dropped, POLICY)["a"]
    half = tally({"a": 50}, {}, active_before={"a": 100}, vanished={"a": 50})
    assert suspicious(half, POLICY) == {}
    small = tally({}, {}, active_before={"a": 9}, vanished={"a": 9})
    assert suspicious(small, POLICY) == {}
    # From min_rows (10) active registrations on, the share is judged; the cause in full.
    ten = tally({"a": 4}, {}, active_before={"a": 10}, vanished={"a": 6})
    assert suspicious(ten, POLICY) == {
        "a": "a full read would soft-delete 6 of 10 active registrations the provider did not "
        "report removed (missing from the read)"
    }


def test_thresholds_are_settings() -> None:
    strict = GuardPolicy(max_rejected_share=0.1, max_vanished_share=0.1, min_rows=5)
    assert set(suspicious(tally({"a": 8}, {"a": 2}), strict)) == {"a"}
    dropped = tally({"a": 8}, {}, active_before={"a": 10}, vanished={"a": 2})
    assert set(suspicious(dropped, strict)) == {"a"}
