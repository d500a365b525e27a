"""RunSignUp participants answers that are not what PROVIDERS.md describes, from a scripted
server on 127.0.0.1: a clear error naming the call and what came, and blocks read by their
event. (The sandbox always answers well-formed lists of event blocks.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from p88_pipeline.providers.base import Event, MalformedResponseError, Participant, ProviderError
from p88_pipeline.providers.http import ApiSession, Transport
from p88_pipeline.providers.quota import TokenBucket
from p88_pipeline.providers.runsignup.client import RaceList, RunSignUpClient, RunSignUpOptions
from p88_pipeline.providers.runsignup.records import parsed_while_decoded
from p88_pipeline_tests.providers.test_http import NO_WAIT, server, session  # noqa: F401 (the fixture)

PATH = "/race/7/participants"
KEYS = {"api_key": "key", "api_secret": "secret"}
LISTING = RaceList(PATH, "participants", 10)


def client(url: str) -> RunSignUpClient:
    return RunSignUpClient(session()[0], url, KEYS)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"not": "a list"}, f"{PATH}: expected a list of events, got {{'not': 'a list'}}"),
        (["x" * 100], f"{PATH}: an event block is '{'x' * 79}"),
    ],
)
def test_an_answer_that_is_not_a_list_of_event_blocks_is_malformed(server, answer, message):  # noqa: F811
    url, script = server
    script.add(200, answer)
    with pytest.raises(MalformedResponseError) as caught:
        client(url).participants_page(LISTING, ["70"], 10)
    assert str(caught.value) == message


def test_a_block_without_an_event_id_is_read_as_no_event(server) -> None:  # noqa: F811
    url, script = server
    script.add(200, [{"event": {}, "participants": [{"registration_id": 1}]}])
    blocks, more = client(url).participants_page(LISTING, ["70"], 10)
    assert (blocks, more) == ([("", [{"registration_id": 1}])], None)


def test_an_answer_without_any_event_block_ends_the_read_and_teaches_nothing(server) -> None:  # noqa: F811
    url, script = server
    script.add(200, [])
    reader = client(url)
    event = Event("runsignup", "70", "7", "5K", None, None, "UTC")
    assert list(reader.iter_participant_pages([event], None)) == []
    assert len(script.seen) == 1
    assert (reader.caps.get("participants").largest, reader.caps.extra) == (0, {})


def test_records_without_their_own_event_id_belong_to_their_block_s_event(server) -> None:  # noqa: F811
    url, script = server
    event = Event("runsignup", "70", "7", "5K", None, None, "UTC")
    person = {"registration_id": 5, "last_modified": 1700000000, "user": {"first_name": "A"}}
    script.add(200, [{"event": {"event_id": 70}, "participants": [person]}])
    script.add(200, [{"event": {"event_id": 70}, "participants": []}])  # the short page's proof
    reader = client(url)
    pages = list(reader.iter_participant_pages([event], None))
    assert [(p.event_id, p.participant_id) for x in pages for p in x.participants] == [("70", "5")]
    gone = {"registration_id": 6, "last_modified_ts": 1700000000, "removed_reason": "cleared"}
    script.add(200, [{"event": {"event_id": 70, "participants": [gone]}}])
    script.add(200, [{"event": {"event_id": 70, "participants": []}}])
    pages = list(reader.iter_removals([event], datetime(2023, 1, 1, tzinfo=UTC)))
    assert [(r.event_id, r.participant_id) for x in pages for r in x.removals] == [("70", "6")]


def test_a_client_built_in_code_asks_only_the_partner_s_races_and_trims_its_url(server) -> None:  # noqa: F811
    """(http.server folds a doubled slash itself: the URL is read from the error instead.)"""
    url, script = server
    script.add(200, {"races": []}).add(200, {"races": []})
    script.add(404, {"error": "not here"})
    reader = RunSignUpClient(session()[0], url + "/", KEYS)
    reader.races_page(1, 10)
    reader.races_page(3, 10, dated=False)  # every race, without events (a wider page)
    [(dated, _), (undated, _)] = script.seen
    assert dated.startswith("/races?") and "only_partner_races=T" in dated
    assert "events=T&page=1&results_per_page=10" in dated and "events=F&page=3&" in undated
    with pytest.raises(ProviderError) as caught:
        reader.participants_page(LISTING, ["70"], 10)
    assert str(caught.value).startswith(f"runsignup partner acme: {url}{PATH}: HTTP 404")


def test_records_are_parsed_while_the_page_is_decoded(server) -> None:  # noqa: F811
    """The page never exists as dicts all at once (issue 16's memory peak): a record with its own
    event id comes out of the decoder as a Participant."""
    url, script = server
    person = {
        "registration_id": 5,
        "event_id": 70,
        "last_modified": 1700000000,
        "user": {"first_name": "A"},
    }
    script.add(200, [{"event": {"event_id": 70}, "participants": [person]}])
    [(event_id, [record])] = client(url).participants_page(
        RaceList(PATH, "participants", 10, record_hook=parsed_while_decoded), ["70"], 10
    )[0]
    assert event_id == "70" and isinstance(record, Participant) and record.participant_id == "5"


def test_a_client_built_in_code_caps_its_pages_masks_its_keys_and_blames_no_filter(
    server,  # noqa: F811
) -> None:
    url, script = server
    bare = ApiSession("runsignup", "acme", limiter=TokenBucket(100), transport=Transport(NO_WAIT))
    reader = RunSignUpClient(
        bare,
        url + "/RestX/",
        {"api_key": "the-key", "api_secret": "the-secret"},
        RunSignUpOptions(page_size=5000),
    )
    assert reader.base_url == url + "/RestX"  # only slashes trimmed
    assert bare.redact("the-key the-secret") == "*** ***"
    script.add(200, [{"event": {"event_id": 70}, "participants": []}])
    event = Event("runsignup", "70", "7", "5K", None, None, "UTC")
    list(reader.iter_participant_pages([event], None))
    assert "results_per_page=2500" in script.seen[0][0]  # the documented maximum
    script.add(200, {"error": {"error_code": 3, "error_msg": "bad parameter"}})
    with pytest.raises(ProviderError) as caught:
        reader.races_page(1, 10)  # sent no filter: not the filter's fault
    assert type(caught.value) is ProviderError


def test_a_races_answer_without_a_races_list_is_malformed(server) -> None:  # noqa: F811
    url, script = server
    script.add(200, [])
    with pytest.raises(MalformedResponseError) as caught:
        client(url).races_page(2, 10)
    assert str(caught.value) == "races page 2: no 'races' list in the answer"


def test_a_short_races_page_is_proven_by_the_wider_undated_list(server) -> None:  # noqa: F811
    """One dated race on a page of 1,000: the undated list (every race) shows more rows fit on a
    page, so the short page was the last; no second dated page is read."""
    url, script = server
    race = {"race_id": 1, "name": "R", "timezone": "UTC", "events": []}
    script.add(200, {"races": [{"race": race}]})
    script.add(200, {"races": [{"race": race}, {"race": {**race, "race_id": 2}}]})
    list(client(url).list_events())
    assert ["events=F" in path for path, _ in script.seen] == [False, True]


def test_races_are_read_wrapped_or_bare_and_a_race_without_id_is_malformed(server) -> None:  # noqa: F811
    url, script = server
    event = {"event_id": 10, "name": "5K", "start_time": "1/1/2099 08:00", "end_time": None}
    race = {"race_id": 1, "name": "R", "timezone": "UTC", "events": [event]}
    bare = {**race, "race_id": 2, "events": [{**event, "event_id": 20}]}
    script.add(200, {"races": [{"race": race}, bare]})
    for _ in range(3):  # the wider undated page and the next dated ones: empty
        script.add(200, {"races": []})
    assert [e.event_id for e in client(url).list_events()] == ["10", "20"]
    script.answers.clear()
    for item in ("not an object", {"race": {"name": "no id"}}):
        script.add(200, {"races": [item]})
        with pytest.raises(MalformedResponseError) as caught:
            list(client(url).list_events())
        assert str(caught.value) == "races page: a race without race_id"
