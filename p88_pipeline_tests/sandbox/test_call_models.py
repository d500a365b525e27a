"""Each provider's fake's facts the benchmarks judge p88 by: the fewest calls a night can take (the
`nightly_minimum_calls` that `p88 bench` divides by) and which sandbox partners use the provider.
Counted by hand from each model's docstring; the bench tests only check minimum <= actual."""

from __future__ import annotations

from p88_sandbox.fakes.haku.fake import FAKE as HAKU
from p88_sandbox.fakes.provider import Reading
from p88_sandbox.fakes.runsignup.fake import FAKE as RUNSIGNUP


def night(races, changed=None, removed=None, *, events=0, race_pages=0, first=False, full=False):
    return Reading(
        races=races,
        changed=changed or {},
        removed=removed or {},
        listed_events=events,
        listed_races=race_pages,
        incremental=not full,
        first_incremental=first,
    )


def test_runsignup_reads_each_race_once_for_its_busiest_event_and_its_removals() -> None:
    races = {"e1": "r1", "e2": "r1", "e3": "r2"}
    # races list: 1,001 races in pages of 1,000 -> 2; r1: participants 2,600 in pages of 2,500
    # -> 2, removed 5 -> 1; r2: participants 0 -> still 1 page, removed 1,001 -> 2
    busy = night(races, {"e1": 2600, "e2": 10}, {"e1": 5, "e3": 1001}, race_pages=1001)
    assert RUNSIGNUP.minimum_calls(busy) == 8
    # a full night reads no removed-participants list
    full = night(races, {"e1": 2600, "e2": 10}, {"e1": 5, "e3": 1001}, race_pages=1001, full=True)
    assert RUNSIGNUP.minimum_calls(full) == 5


def test_runsignup_first_incremental_night_proves_a_short_removed_page_once_per_tied_race() -> None:
    races = {"e1": "r1", "e3": "r2"}
    tied = {"e1": 5, "e3": 5}
    assert RUNSIGNUP.minimum_calls(night(races, removed=tied, race_pages=3)) == 5
    assert RUNSIGNUP.minimum_calls(night(races, removed=tied, race_pages=3, first=True)) == 7
    one_bigger = {"e1": 5, "e3": 7}  # only the biggest page proves nothing
    assert RUNSIGNUP.minimum_calls(night(races, removed=one_bigger, first=True)) == 6
    # a page as big as the page size asked, or no removals at all: nothing to prove
    assert RUNSIGNUP.minimum_calls(night({"e1": "r1"}, removed={"e1": 1000}, first=True)) == 3
    assert RUNSIGNUP.minimum_calls(night({"e1": "r1"}, first=True)) == 3
    assert RUNSIGNUP.minimum_calls(night({"e1": "r1"}, removed={"e1": 1}, first=True)) == 4
    assert RUNSIGNUP.minimum_calls(night({}, first=True)) == 1  # no future race: the list only


def test_haku_needs_a_token_the_events_pages_and_each_event_s_changed_records() -> None:
    races = {"h1": "r1", "h2": "r1", "h3": "r2"}
    # token 1; 101 events in pages of 100 -> 2; h1: 150 changed + 50 cancelled -> 2; h2: 0 ->
    # still 1 page; h3: 1 -> 1
    busy = night(races, {"h1": 150}, {"h1": 50, "h3": 1}, events=101)
    assert HAKU.minimum_calls(busy) == 7
    assert HAKU.minimum_calls(night({}, events=100)) == 2
    # changed and cancelled records share the pages: 100 + 1 -> 2; either alone fits in one
    assert HAKU.minimum_calls(night({"h1": "r1"}, {"h1": 100}, {"h1": 1})) == 4
    assert HAKU.minimum_calls(night({"h1": "r1"}, {"h1": 100})) == 3
    assert HAKU.minimum_calls(night({"h1": "r1"}, removed={"h1": 100})) == 3


def test_which_sandbox_partners_use_each_provider() -> None:
    """RunSignUp: all but every fifth from the fifth on; Haku: every fifth from the fifth on
    and every third from the fourth on (partner 0 uses both: the world's own rule)."""
    rsu = [i for i in range(16) if RUNSIGNUP.world.uses(i)]
    haku = [i for i in range(16) if HAKU.world.uses(i)]
    assert rsu == [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 15]
    assert haku == [3, 4, 6, 9, 12, 14, 15]
