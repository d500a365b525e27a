"""Scales beyond the seed: the 10x world is ten seeds and names its partners validly;
`partners-N` worlds for the orchestration bench; the bounded cache of base modification times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from p88_pipeline.config.partners import SLUG
from p88_sandbox.generate import NATO, SCALES
from p88_sandbox.time_cache import TimeCache
from p88_sandbox.world import World


def test_the_10x_world_is_ten_seeds() -> None:
    world = World(seed=88, scale="10x")  # the bench measures its memory (docs/performance.md)
    seed = SCALES["seed"]
    assert world.counts() | {"future_events": 0} == {
        "partners": 10 * seed.partners,
        "events": 10 * seed.events,
        "future_events": 0,
        "participants": 10 * seed.participants,
    }
    slugs = [p.slug for p in world.partners]
    assert slugs[: len(NATO)] == list(NATO)  # the names every other test knows stay put
    assert len(set(slugs)) == len(slugs) and all(SLUG.match(s) for s in slugs)
    assert {provider for p in world.partners for provider in p.providers} == {"runsignup", "haku"}


def test_partners_n_is_n_tiny_partners_and_unknown_scales_are_named() -> None:
    world = World(seed=88, scale="partners-7")
    assert world.counts()["partners"] == 7
    assert world.counts()["participants"] == 7 * 180
    with pytest.raises(ValueError, match="partners-N"):
        World(scale="partners-0")


def test_the_time_cache_drops_least_recently_used_events_within_its_bound() -> None:
    cache = TimeCache(max_times=5)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    computed: list[str] = []

    def times(key: str, n: int):
        def compute() -> list[datetime]:
            computed.append(key)
            return [stamp + timedelta(seconds=i) for i in range(n)]

        return lambda: cache.get(key, compute)

    a, b, c = times("a", 2), times("b", 2), times("c", 2)
    a(), b(), a()  # a is now the most recently used
    c()  # 6 > 5: b goes, a stays
    a()
    assert computed == ["a", "b", "c"]
    assert b() == [stamp, stamp + timedelta(seconds=1)]  # recomputed, the same values
    assert computed == ["a", "b", "c", "b"]


def test_a_bounded_cache_serves_the_same_modification_times() -> None:
    world = World(seed=88, scale="small")
    bounded = World(seed=88, scale="small")
    bounded._base_modified = TimeCache(max_times=100)
    if bounded.created_at != world.created_at:
        pytest.skip("built across an hour boundary")
    for event in world.event_states("runsignup")[:6]:
        twin = bounded.event_state("runsignup", event.event_id)
        for pid in list(event.base_ids())[:: max(1, event.base_count // 20)]:
            assert world.modified_at(event, pid) == bounded.modified_at(twin, pid)
