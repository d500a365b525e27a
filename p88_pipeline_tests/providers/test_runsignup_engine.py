"""RunSignUp's own conventions through the engine (the rules themselves: sync/test_rules.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import Transport
from p88_pipeline.providers.timeparse import EASTERN, to_unix
from p88_pipeline.sync import plan
from p88_pipeline_tests.helpers import FAST_RETRY, Sandbox, run_sync, watermarks
from p88_sandbox.truth import compare_with_truth

SLUG = "bravo"  # RunSignUp only


def assert_equals_truth(engine, sandbox: Sandbox) -> None:
    partner = sandbox.partner(SLUG)
    now = sandbox.world.clock.now()
    result = compare_with_truth(engine, sandbox.world, "runsignup", partner.id, SLUG, now)
    assert result.mismatches == 0, str(result)


def participant_calls(sandbox: Sandbox, kind: str = "/participants") -> list[dict]:
    return [r.params for r in sandbox.server.log if r.path.endswith(kind)]


def client_with_pages_of(sandbox, size: int):
    partner = sandbox.partner(SLUG)
    account = replace(partner.accounts["runsignup"], page_size=size)
    only_runsignup = replace(partner, accounts={"runsignup": account})
    return build_client(only_runsignup, "runsignup", transport=Transport(FAST_RETRY))


def races_of(client) -> list[list]:
    races: dict[str, list] = {}
    for event in client.list_events():
        races.setdefault(event.race_id, []).append(event)
    return list(races.values())


def two_events_three_and_two_newer(sandbox, client) -> tuple:
    """A race's first two events: A keeps 3 registrations, B only 2 new ones (higher ids)."""
    a, b = next(events for events in races_of(client) if len(events) >= 2)[:2]
    world = sandbox.world
    for event, keep in ((a, 3), (b, 0)):
        for pid in world.active_ids(world.event_state("runsignup", event.event_id))[keep:]:
            world.remove_participant("runsignup", event.event_id, pid)
    added = [world.add_participant("runsignup", b.event_id) for _ in range(2)]
    return a, b, added


def test_incremental_asks_per_race_modified_after_its_oldest_watermark_minus_overlap(
    engine, sandbox
) -> None:
    run_sync(engine, sandbox, SLUG)
    before = watermarks(engine)
    sandbox.world.advance(timedelta(days=1))
    sandbox.server.reset_log()
    second = run_sync(engine, sandbox, SLUG)
    assert_equals_truth(engine, sandbox)
    # Per race: the oldest watermark of its future events minus the 10-minute overlap.
    truth_events = sandbox.world.events("runsignup", SLUG)
    race_of = {str(e["event_id"]): str(e["race_id"]) for e in truth_events}
    expected: dict = {}
    for event_id, (watermark, _) in before.items():
        race = race_of[event_id]
        expected[race] = min(expected.get(race, watermark), watermark)
    sent = {p["event_id"]: int(p["modified_after_timestamp"]) for p in participant_calls(sandbox)}
    assert {race_of[ids.split(",")[0]]: stamp for ids, stamp in sent.items()} == {
        race: to_unix(w - timedelta(minutes=10)) for race, w in expected.items()
    }
    # One events page, then per race one participants and one removed-participants call, plus
    # at most one more page per read while a list's cap is unknown (issue 9).
    reads = 1 + 2 * len(expected)
    assert reads <= second.api_calls <= 2 * reads
    removed = participant_calls(sandbox, "/removed-participants")
    # The removed list is asked from the same moment as its race's participants.
    assert {p["event_id"]: int(p["modified_after_timestamp"]) for p in removed} == sent
    # Keyset paging by registration id needs the ids ascending (PROVIDERS.md).
    assert {p["sort"] for p in participant_calls(sandbox)} == {"registration_id ASC"}
    assert {p["page"] for p in participant_calls(sandbox)} == {"1"}  # keyset: always page 1
    # What each endpoint taught about its pages is kept under that endpoint's name.
    assert {"races", "participants", "removed-participants"} <= set(second.page_caps)


def test_error_wrapped_in_an_array_is_recognised(engine, sandbox) -> None:
    sandbox.server.inject(
        "runsignup", SLUG, "error_in_array", count=1, path_contains="/participants"
    )
    run_sync(engine, sandbox, SLUG)
    assert_equals_truth(engine, sandbox)


def test_a_page_past_the_end_is_an_empty_list(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)
    event_id = next(iter(watermarks(engine)))
    size = len(sandbox.world.truth("runsignup", SLUG, [event_id]))
    partner = sandbox.partner(SLUG)
    account = partner.accounts["runsignup"]
    exact = type(account)(**{**account.__dict__, "page_size": size})
    partner = type(partner)(**{**partner.__dict__, "accounts": {"runsignup": exact}})
    sandbox.server.reset_log()
    run_sync(engine, sandbox, SLUG, plan.SyncPolicy(force_full=True), partner=partner)
    assert_equals_truth(engine, sandbox)
    # The partner's page_size is what is asked (never more than the documented 2,500).
    assert {int(p["results_per_page"]) for p in participant_calls(sandbox)} == {min(size, 2500)}


def test_races_are_asked_from_today_eastern_minus_the_grace_window_partner_races_by_default(
    engine, sandbox
) -> None:
    run_sync(engine, sandbox, SLUG)
    [races] = [r.params for r in sandbox.server.log if r.path.endswith("/races")][:1]
    eastern_today = sandbox.world.clock.now().astimezone(EASTERN).date()
    assert races["start_date"] == (eastern_today - timedelta(days=1)).isoformat()
    assert races["only_partner_races"] == "T"
    assert (races["format"], races["sort"]) == ("json", "date ASC")
    sent = [r.params for r in sandbox.server.log if "participants" in r.path]
    assert sent and all(p["supports_nb"] == "T" for p in sent)
    partner = sandbox.partner(SLUG)
    account = partner.accounts["runsignup"]
    every_race = type(account)(
        **{**account.__dict__, "options": {**account.options, "only_partner_races": False}}
    )
    partner = type(partner)(**{**partner.__dict__, "accounts": {"runsignup": every_race}})
    sandbox.server.reset_log()
    list(build_client(partner, "runsignup", transport=Transport(FAST_RETRY)).list_events())
    races = next(r.params for r in sandbox.server.log if r.path.endswith("/races"))
    assert "only_partner_races" not in races


def test_removed_participants_are_asked_in_the_partners_page_size(engine, sandbox) -> None:
    run_sync(engine, sandbox, SLUG)
    sandbox.world.advance(timedelta(days=1))
    partner = sandbox.partner(SLUG)
    account = partner.accounts["runsignup"]
    one = replace(account, options={**account.options, "removed_page_size": 1})
    partner = replace(partner, accounts={"runsignup": one})
    sandbox.server.reset_log()
    run_sync(engine, sandbox, SLUG, partner=partner)
    asked = {p["results_per_page"] for p in participant_calls(sandbox, "/removed-participants")}
    assert asked == {"1"}
    assert_equals_truth(engine, sandbox)


def test_a_block_read_again_is_handed_over_once(sandbox) -> None:
    """Keyset paging over a race's events reads a block of higher ids again while a lower block
    goes on: each registration reaches the writer once (the copy read first), every one does."""
    client = client_with_pages_of(sandbox, 7)
    events = max(races_of(client), key=len)
    assert len(events) >= 2
    read = [
        (p.event_id, p.participant_id)
        for page in client.iter_participant_pages(events, None)
        for p in page.participants
    ]
    served = {
        (str(e["event_id"]), str(pid))
        for e in sandbox.world.events("runsignup", SLUG)
        if str(e["event_id"]) in {ev.event_id for ev in events}
        for pid in sandbox.world.active_ids(sandbox.world.event_state("runsignup", e["event_id"]))
    }
    assert len(read) == len(set(read)) and set(read) == served


def test_a_block_served_again_is_no_proof_that_a_short_page_was_a_cap(sandbox) -> None:
    """One call answers for a race's events, and the next page starts after the lowest full
    block: a block of higher ids comes again. Here A holds 3 registrations and B 2 newer ones;
    asked 10, the first answer is short, the read goes on after A's last id and gets B's two
    again. Nothing new: 3 was the end, not a silent cap of 3 for every later read."""
    client = client_with_pages_of(sandbox, 10)
    a, b, added = two_events_three_and_two_newer(sandbox, client)
    pages = list(client.iter_participant_pages([a, b], None))
    read = {(p.event_id, p.participant_id) for page in pages for p in page.participants}
    assert len(read) == 5 and {pid for e, pid in read if e == b.event_id} == set(added)
    assert client.caps.get("participants").cap is None  # nothing learned from a re-read
    assert client.caps.extra["participants"] == 1  # the one page read past the short one


def test_blocks_filling_the_page_together_are_a_full_page_of_the_whole_answer(sandbox) -> None:
    """Whether the page size applies per event or to the whole answer is undocumented: A's 3 and
    B's 2 newer registrations answer a page of 5 in full under the second reading, so the read
    goes on after the highest id (an empty page ends it) and wastes no call proving a cap."""
    client = client_with_pages_of(sandbox, 5)
    a, b, added = two_events_three_and_two_newer(sandbox, client)
    sandbox.server.reset_log()
    pages = list(client.iter_participant_pages([a, b], None))
    assert sum(len(page.participants) for page in pages) == 5
    asked = [p.get("after_registration_id") for p in participant_calls(sandbox)]
    assert asked == [None, max(added)]  # after the highest id of the whole answer
    assert client.caps.get("participants").largest == 5
    assert client.caps.extra.get("participants", 0) == 0


def test_pages_of_one_registration_read_the_whole_event(sandbox) -> None:
    client = client_with_pages_of(sandbox, 1)
    event = next(iter(client.list_events()))
    world = sandbox.world
    kept = world.active_ids(world.event_state("runsignup", event.event_id))[:3]
    for pid in world.active_ids(world.event_state("runsignup", event.event_id))[3:]:
        world.remove_participant("runsignup", event.event_id, pid)
    pages = list(client.iter_participant_pages([event], None))
    assert sorted(int(p.participant_id) for page in pages for p in page.participants) == kept
