"""The small shared parts every client is built from, as plain functions: tolerant field readers
(fields.py), the registry, building a partner's client (build.py) and the spec's names."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from p88_pipeline.config.partners import PartnerConfigError, parse_partners
from p88_pipeline.providers import registry
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.fields import compact_json, int_or_none, parse_money, text_or_none
from p88_pipeline.providers.http import Transport

PARTNERS = """
partners:
  - id: 101
    slug: acme
    providers:
      runsignup:
        base_url: https://rsu.example
        api_key_env: ACME_KEY
        api_secret_env: ACME_SECRET
        quota_per_hour: 40
      haku:
        base_url: https://haku.example/apiX/
        client_id_env: ACME_KEY
        client_secret_env: ACME_SECRET
        token_url: https://haku.example/oauth/token
"""
ENV = {"ACME_KEY": "key-with space", "ACME_SECRET": "the-secret"}


def test_text_is_stripped_and_empty_means_absent() -> None:
    assert [text_or_none(v) for v in (None, "  Ann \n", " \t ", "", 0, 12)] == [
        None,
        "Ann",
        None,
        None,
        "0",
        "12",
    ]


def test_whole_numbers_from_numbers_and_text_anything_else_absent() -> None:
    # 1e400 is valid JSON and reads as infinity: absent, like any other non-number (it raised
    # OverflowError, which is no ValueError: the whole race failed instead of one field).
    values = (42, "42", "42.0", "4.7", -3.9, None, "forty", float("inf"), "1e400", "nan", [])
    expected = [42, 42, 42, 4, -3, None, None, None, None, None, None]
    assert [int_or_none(v) for v in values] == expected
    assert int_or_none("9007199254740993") == 9007199254740993  # exact, not through a float


def test_money_in_every_spelling_and_a_non_amount_is_an_error() -> None:
    assert parse_money("$1,055.00") == Decimal("1055.00")
    assert parse_money(" 55.5 ") == Decimal("55.5")
    assert parse_money(55.5) == Decimal("55.5")
    assert parse_money(None) is None and parse_money("  ") is None
    with pytest.raises(ValueError) as caught:
        parse_money("free entry")
    assert str(caught.value) == "not a money amount: 'free entry'"


def test_the_registry_lists_the_built_in_providers_in_order() -> None:
    assert registry.names() == ("runsignup", "haku")
    assert [s.name for s in registry.specs()] == ["runsignup", "haku"]
    assert registry.spec_for("haku").name == "haku"
    with pytest.raises(KeyError) as caught:
        registry.spec_for("racewire")
    assert caught.value.args[0] == "unknown provider 'racewire' (known: runsignup, haku)"
    assert registry.spec_for("runsignup").credential_names() == ("api_key", "api_secret")


def test_a_provider_is_registered_for_a_while_and_built_ins_stay() -> None:
    extra = replace(registry.spec_for("haku"), name="racewire")
    registry.register(extra)
    try:
        assert registry.names() == ("runsignup", "haku", "racewire")
        with pytest.raises(ValueError, match=r"^provider 'racewire' is already registered$"):
            registry.register(extra)
    finally:
        registry.unregister("racewire")
    assert registry.names() == ("runsignup", "haku")
    registry.unregister("racewire")  # twice: nothing to do
    with pytest.raises(ValueError, match=r"^provider 'haku' is built in$"):
        registry.unregister("haku")
    assert registry.names() == ("runsignup", "haku")


def test_a_client_is_built_from_the_file_and_the_environment() -> None:
    [partner] = parse_partners(PARTNERS)
    slept: list[float] = []
    client = build_client(
        partner,
        "runsignup",
        environ=ENV,
        transport=Transport(sleep=slept.append),
        spent_last_hour=7,
    )
    session = client.session
    assert (session.provider, session.partner, session.http.verify) == ("runsignup", "acme", True)
    assert (session.limiter.quota, len(session.limiter._recent)) == (40, 7)
    assert session.credential_envs == ("ACME_KEY", "ACME_SECRET")
    assert session.redact("a=key-with+space&b=the-secret") == "a=***&b=***"
    session._sleep(0.25)
    assert slept == [0.25]
    assert client.base_url == "https://rsu.example"
    haku = build_client(partner, "haku", environ=ENV)
    assert haku.base_url == "https://haku.example/apiX"  # trailing slashes only
    assert len(haku.session.limiter._recent) == 0  # nothing spent unless said
    only_runsignup = replace(partner, accounts={"runsignup": partner.accounts["runsignup"]})
    with pytest.raises(KeyError) as caught:
        build_client(only_runsignup, "haku", environ=ENV)
    assert caught.value.args[0] == "partner acme has no haku account"
    with pytest.raises(PartnerConfigError) as unset:
        build_client(partner, "runsignup", environ={"ACME_KEY": "k"})
    assert str(unset.value) == (
        "partner acme: runsignup credential api_secret expects environment variable "
        "ACME_SECRET, which is not set"
    )


def test_the_credentials_are_masked_even_when_the_provider_s_client_registers_none() -> None:
    """build_client hands the session every credential value: a provider added through the
    registry need not remember to (the built-in clients also add theirs)."""
    bare = replace(registry.spec_for("haku"), name="racewire", build_client=lambda s, a, c: s)
    registry.register(bare)
    try:
        [partner] = parse_partners(PARTNERS)
        account = replace(partner.accounts["haku"], provider="racewire")
        session = build_client(
            replace(partner, accounts={"racewire": account}), "racewire", environ=ENV
        )
        assert session.redact(f"id={ENV['ACME_KEY']}&s={ENV['ACME_SECRET']}") == "id=***&s=***"
    finally:
        registry.unregister("racewire")


def test_runsignup_s_races_list_is_complete_from_an_aware_instant() -> None:
    """Start date: today in US Eastern minus the day of grace; complete from its midnight UTC
    plus a day (zones down to UTC-12). Aware: the warehouse compares it with timestamptz."""
    [partner] = parse_partners(PARTNERS)
    client = build_client(partner, "runsignup", environ=ENV)
    client.clock = lambda: datetime(2026, 5, 1, 3, 0, tzinfo=UTC)  # 23:00 on Apr 30 in Eastern
    assert client.races_start_date() == "2026-04-29"
    assert client.listed_from() == datetime(2026, 4, 30, tzinfo=UTC)
    assert client.listed_from().tzinfo is UTC


def test_a_record_s_text_is_compact_exact_for_big_integers_and_keeps_its_letters() -> None:
    """orjson for speed (other values as text); the standard library for integers beyond 64 bits,
    which orjson refuses and which must not be rounded."""
    assert (
        compact_json({"a": 1, "b": "Zoë", "m": Decimal("55.5")}) == '{"a":1,"b":"Zoë","m":"55.5"}'
    )
    assert compact_json({"n": 2**70, "b": "Zoë", "m": Decimal("1.5")}) == (
        '{"n": 1180591620717411303424, "b": "Zoë", "m": "1.5"}'
    )
