"""The world: deterministic, lazy, the right size, and a change model that really changes things."""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from p88_sandbox.world import World


def twin_worlds(scale: str = "tiny") -> tuple[World, World]:
    """Two worlds from one seed, built in the same clock hour (the layout's anchor)."""
    while True:
        a, b = World(seed=88, scale=scale), World(seed=88, scale=scale)
        if a.created_at == b.created_at:
            return a, b


def test_same_seed_gives_the_same_world_and_truth() -> None:
    a, b = twin_worlds()
    assert [p.secrets for p in a.partners] == [p.secrets for p in b.partners]
    for provider, slug in (("runsignup", "alpha"), ("haku", "alpha"), ("runsignup", "bravo")):
        assert a.events(provider, slug) == b.events(provider, slug)
        assert a.truth(provider, slug) == b.truth(provider, slug)
    a.advance()
    b.advance()
    for provider in ("runsignup", "haku"):  # stamps ride the real clock: allow a tick
        ta, tb = a.truth(provider, "alpha"), b.truth(provider, "alpha")
        assert ta.keys() == tb.keys()
        for key, row in ta.items():
            assert row == replace(tb[key], modified_at=row.modified_at)
            assert abs((row.modified_at - tb[key].modified_at).total_seconds()) <= 2


def test_another_seed_gives_another_world() -> None:
    assert World(seed=1).truth("runsignup", "alpha") != World(seed=2).truth("runsignup", "alpha")


def test_tiny_shape_alpha_has_both_providers_bravo_runsignup_only() -> None:
    world = World(scale="tiny")
    alpha, bravo = world.partner("alpha"), world.partner("bravo")
    assert alpha.providers == ("runsignup", "haku") and bravo.providers == ("runsignup",)
    counts = world.counts()
    assert counts["partners"] == 2 and 8 <= counts["events"] <= 16
    assert 100 <= counts["participants"] <= 600
    now = world.clock.now()
    for provider, slug in (("runsignup", "alpha"), ("haku", "alpha"), ("runsignup", "bravo")):
        events = world.events(provider, slug)
        assert any(e["start_time"] > now for e in events)
        assert any(e["start_time"] <= now for e in events)


def test_seed_scale_counts_built_lazily_fast_and_small() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    world = World(seed=88, scale="seed")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = world.counts()
    assert counts["partners"] == 13
    assert counts["events"] == 1616
    assert counts["participants"] == 407_053
    assert 200 <= counts["future_events"] <= 300
    assert elapsed < 5
    assert peak < 50_000_000
    sizes = sorted(e.base_count for p in ("runsignup", "haku") for e in world.event_states(p))
    assert sizes[len(sizes) // 4] < 100 and sizes[-1] > 10_000  # small races ~80, big tens of k


def test_events_have_real_zones_and_aware_utc_starts() -> None:
    world = World(scale="small")
    for p in world.partners:
        for provider in p.providers:
            for e in world.events(provider, p.slug):
                ZoneInfo(e["timezone"])
                assert e["start_time"].utcoffset() == timedelta(0)
                assert e["start_time"].tzinfo is UTC


def test_races_hold_one_to_four_events() -> None:
    world = World(scale="small")
    races: dict[str, int] = {}
    for e in world.events("runsignup", "bravo"):
        races[e["race_id"]] = races.get(e["race_id"], 0) + 1
    assert set(races.values()) <= {1, 2, 3, 4} and max(races.values()) > 1


def test_advance_adds_modifies_and_removes_inside_the_window() -> None:
    world = World(scale="tiny")
    before = world.truth("runsignup", "alpha")
    start = world.clock.now().replace(microsecond=0)
    changes = world.advance(timedelta(days=1))
    end = world.clock.now()
    assert changes["modified"] > 0 and changes["added"] > 0 and changes["removed"] > 0
    after = world.truth("runsignup", "alpha")
    new = set(after) - set(before)
    assert new and min(int(k[1]) for k in new) > max(int(k[1]) for k in before)
    changed = [k for k in before if after[k] != before[k]]
    assert changed
    for key in [*new, *changed]:
        assert start < after[key].modified_at <= end
    assert any(after[k].removed for k in before)
    assert set(before) <= set(after)  # removed registrations stay in truth


def test_changes_only_touch_future_events() -> None:
    world = World(scale="tiny")
    now = world.clock.now()
    past = [e["event_id"] for e in world.events("runsignup", "alpha") if e["start_time"] <= now]
    before = world.truth("runsignup", "alpha", past)
    world.advance(timedelta(days=2))
    assert world.truth("runsignup", "alpha", past) == before


def test_haku_cancellations_stay_in_truth_as_removed() -> None:
    world = World(scale="tiny")
    world.advance(timedelta(days=1))
    assert any(row.removed for row in world.truth("haku", "alpha").values())


def test_test_helpers_modify_add_remove_at_clock_now() -> None:
    world = World(scale="tiny")
    event_id = world.events("runsignup", "bravo")[-1]["event_id"]
    pid = min(int(k[1]) for k in world.truth("runsignup", "bravo", [event_id]))
    world.clock.advance(timedelta(hours=1))
    world.modify_participant("runsignup", event_id, str(pid), first_name="Zoë", bib="A7")
    row = world.truth("runsignup", "bravo", [event_id])[(event_id, str(pid))]
    assert (row.first_name, row.bib) == ("Zoë", "A7")
    assert abs((row.modified_at - world.clock.now()).total_seconds()) < 2
    new_id = world.add_participant("runsignup", event_id)
    assert (event_id, new_id) in world.truth("runsignup", "bravo", [event_id])
    transfer = world.remove_participant("runsignup", event_id, new_id, reason="transferred")
    truth = world.truth("runsignup", "bravo", [event_id])
    assert truth[(event_id, new_id)].removed and not truth[(event_id, transfer)].removed


def test_changed_since_counts_match_truth() -> None:
    world = World(scale="tiny")
    since = world.clock.now()
    world.advance(timedelta(days=1))
    counts = world.changed_since("runsignup", "alpha", since)
    truth = world.truth("runsignup", "alpha")
    for event_id, count in counts.items():
        rows = [r for (e, _), r in truth.items() if e == event_id and r.modified_at >= since]
        assert count.changed == sum(1 for r in rows if not r.removed)
        assert count.removed == sum(1 for r in rows if r.removed)
    assert sum(c.changed for c in counts.values()) > 0
    # before creation everything counts as changed
    everything = world.changed_since("runsignup", "alpha", since - timedelta(days=3650))
    assert sum(c.changed + c.removed for c in everything.values()) == len(truth)
