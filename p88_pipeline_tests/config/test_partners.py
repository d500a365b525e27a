"""partners.yaml: bad files fail before any API call, naming the partner and the cause."""

import re
from pathlib import Path

import pytest

from p88_pipeline.config.partners import (
    Partner,
    PartnerConfigError,
    ProviderAccount,
    find_partner,
    load_partners,
    parse_partners,
)
from p88_pipeline.freshness.plan import FreshnessTargets

GOOD = """
partners:
  - id: 101
    slug: acme
    name: Acme Timing
    providers:
      runsignup:
        base_url: https://runsignup.com/Rest/
        api_key_env: ACME_KEY
        api_secret_env: ACME_SECRET
"""


def test_the_example_file_is_valid() -> None:
    partners = load_partners(Path(__file__).parents[2] / "partners.example.yaml")
    assert [p.slug for p in partners] == ["acme-timing", "bolt-racing"]
    assert partners[0].accounts["haku"].options["token_url"].startswith("https://")


def test_a_good_file_resolves_credentials_from_the_environment_only() -> None:
    [partner] = parse_partners(GOOD)
    account = partner.accounts["runsignup"]
    assert account.base_url == "https://runsignup.com/Rest" and account.quota_per_hour == 1000
    assert account.credentials("acme", {"ACME_KEY": "k", "ACME_SECRET": "s"}) == {
        "api_key": "k",
        "api_secret": "s",
    }
    assert find_partner([partner], "101") is find_partner([partner], "acme") is partner


def test_a_missing_variable_names_the_partner_and_the_variable() -> None:
    [partner] = parse_partners(GOOD)
    with pytest.raises(PartnerConfigError) as caught:
        partner.accounts["runsignup"].credentials("acme", {"ACME_KEY": "k"})
    assert "partner acme" in str(caught.value) and "ACME_SECRET" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("partners: [", "not valid YAML"),
        ("nothing: here", "top-level 'partners:' list"),
        (GOOD.replace("runsignup:", "racewire:"), "partner acme: provider racewire: unknown"),
        (GOOD.replace("slug: acme", "slug: Acme,Inc"), "slug 'Acme,Inc'"),
        (GOOD.replace("        api_secret_env: ACME_SECRET\n", ""), "missing api_secret_env"),
        (GOOD.replace("api_key_env: ACME_KEY", "api_key: abc123"), "api_key must not be"),
        (GOOD.replace("api_key_env: ACME_KEY", "apiKey: abc123"), "apiKey must not be"),
        (GOOD + GOOD.replace("partners:\n", ""), "duplicate partner id '101'"),
    ],
)
def test_a_bad_file_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(PartnerConfigError, match=message.replace("(", r"\(")) as caught:
        parse_partners(text)
    assert "abc123" not in str(caught.value)


def test_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PartnerConfigError, match="P88_PARTNERS_FILE"):
        load_partners(tmp_path / "partners.yaml")


ITEM7 = """
partners:
  - id: 7
    slug: seven
    active: 'false'
    sync_interval_minutes: 0
    colour: blue
    providers:
      runsignup:
        base_url: https://runsignup.com/Rest
        api_key_env: SEVEN_KEY
        api_secret_env: SEVEN_SECRET
        quota_per_hour: 0
        page_size: -5
        pagesize: 10
      haku:
        base_url: https://api.hakuapp.com
        client_id_env: SEVEN_ID
        client_secret_env: SEVEN_SECRET2
        quota_per_hour: many
"""


def test_every_problem_of_a_file_is_refused_at_load_one_line_each() -> None:
    """Item 7: numbers > 0, YAML booleans only, unknown keys with a did-you-mean; all at once."""
    with pytest.raises(PartnerConfigError) as caught:
        parse_partners(ITEM7, source="p.yaml")
    problems = caught.value.problems
    expected = [
        "p.yaml: partner seven: unknown key colour",
        "p.yaml: partner seven: active must be true or false (a YAML boolean, unquoted), "
        "got 'false'",
        "p.yaml: partner seven: sync_interval_minutes must be a whole number > 0, got 0",
        "p.yaml: partner seven: provider runsignup: unknown key pagesize (did you mean page_size?)",
        "p.yaml: partner seven: provider runsignup: quota_per_hour must be a whole number > 0, "
        "got 0",
        "p.yaml: partner seven: provider runsignup: page_size must be a whole number > 0, got -5",
        "p.yaml: partner seven: provider haku: quota_per_hour must be a whole number > 0, "
        "got 'many'",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)
    assert len(problems) == len(expected), problems


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("partners: []", "partners: is empty"),
        (GOOD.replace("runsignup:", "runsingup:"), "unknown provider (did you mean runsignup?)"),
        (
            GOOD.replace("base_url: https://runsignup.com/Rest/", "base_url: runsignup.com"),
            "base_url",
        ),
        (GOOD + "extra: 1\n", "unknown key extra"),
    ],
)
def test_structure_problems_are_refused(text: str, message: str) -> None:
    with pytest.raises(PartnerConfigError, match=re.escape(message)):
        parse_partners(text)


@pytest.mark.parametrize(
    "pasted",
    ["rsu8f3k2j9d0s7a6q5w4e3r2t1y0", "RSU8F3K2J9D0S7A6Q5W4", "has space-and-dash", "Ab1"],
)
def test_a_secret_pasted_as_a_variable_name_is_refused_without_echoing_it(pasted: str) -> None:
    """Item 8: the value is neither accepted (it would be echoed later) nor shown now."""
    with pytest.raises(PartnerConfigError, match="must be the NAME of an environment variable"):
        parse_partners(GOOD.replace("ACME_SECRET", pasted))
    with pytest.raises(PartnerConfigError) as caught:
        parse_partners(GOOD.replace("ACME_SECRET", pasted))
    assert pasted not in str(caught.value)


FULL = """
partners:
  - id: 7
    slug: seven
    name: Seven Timing
    active: false
    sync_interval_minutes: 15
    providers:
      runsignup:
        base_url: http://rsu.example/X/
        api_key_env: SEVEN_KEY
        api_secret_env: SEVEN_SECRET
        quota_per_hour: 1
        page_size: 250
        only_partner_races: true
      haku:
        base_url: https://haku.example
        client_id_env: SEVEN_ID
        client_secret_env: ABCDEFGHIJKLMN1
  - id: 8
    slug: eight
    sync_interval_minutes:
    providers:
      haku:
        base_url: https://haku.example
        client_id_env: EIGHT_ID
        client_secret_env: EIGHT_SECRET
        quota_per_hour:
"""


def test_every_field_is_read_as_written_and_the_defaults_fill_the_rest() -> None:
    """The whole parsed value, so a field read wrong or a default changed shows up."""
    seven, eight = parse_partners(FULL)
    assert seven == Partner(
        id="7",
        slug="seven",
        name="Seven Timing",
        active=False,
        sync_interval_minutes=15,
        accounts={
            "runsignup": ProviderAccount(
                provider="runsignup",
                base_url="http://rsu.example/X",  # trailing slashes only, not other characters
                credential_envs={"api_key_env": "SEVEN_KEY", "api_secret_env": "SEVEN_SECRET"},
                quota_per_hour=1,
                page_size=250,
                options={"only_partner_races": True},
            ),
            "haku": ProviderAccount(
                provider="haku",
                base_url="https://haku.example",
                # 15 capitals and digits without a word break are still a name; 16 are a key.
                credential_envs={
                    "client_id_env": "SEVEN_ID",
                    "client_secret_env": "ABCDEFGHIJKLMN1",
                },
                quota_per_hour=500,
            ),
        },
    )
    # Keys left empty (null) get the defaults.
    assert eight == Partner(
        id="8",
        slug="eight",
        name="eight",
        accounts={
            "haku": ProviderAccount(
                provider="haku",
                base_url="https://haku.example",
                credential_envs={"client_id_env": "EIGHT_ID", "client_secret_env": "EIGHT_SECRET"},
                quota_per_hour=500,
            )
        },
    )
    # no interval set: no ceiling on the freshness targets (rule 7), which keep their defaults
    assert (eight.active, eight.sync_interval_minutes) == (True, None)
    assert eight.targets == eight.freshness == FreshnessTargets()
    [absent] = parse_partners(GOOD)  # keys left out altogether: the same defaults
    assert (absent.active, absent.sync_interval_minutes) == (True, None)
    assert seven.account("runsignup") is seven.accounts["runsignup"]
    assert seven.account("racewire") is None


BAD = """
partners:
  - id: 1
    slug: one
    zzz: 1
    password: hunter22
    active: 'yes, definitely, yes!!!'
    sync_interval_minutes: '1234567890123456789012'
    providers:
      runsignup:
        api_key_env: ''
        api_secret_env: ABCDEFGHIJKLMNO1
        token: abc123
        page_size: '12345678901234567890123'
      haku: not a mapping
      racewire: {}
  - just a string
  - id: ''
    providers: [runsignup]
  - name: no slug
    slug: Bad Slug
    providers:
      haku:
        base_url: ftp://haku.example
        client_id_env: bad-name
        client_secret_env: SECRET_2
extra: 1
"""


def test_each_problem_has_its_exact_line_naming_file_partner_provider_and_field() -> None:
    with pytest.raises(PartnerConfigError) as caught:
        parse_partners(BAD, source="p.yaml")
    expected = [
        "p.yaml: unknown key extra; allowed: partners",
        "p.yaml: partner one: unknown key zzz; allowed: id, slug, name, active, "
        "sync_interval_minutes, freshness, providers",
        "p.yaml: partner one: password must not be in the file: name an environment variable "
        "instead (the value is not shown)",
        # reprs up to 24 characters are shown, longer ones (here 25) by their type only
        "p.yaml: partner one: active must be true or false (a YAML boolean, unquoted), got str",
        "p.yaml: partner one: sync_interval_minutes must be a whole number > 0, "
        "got '1234567890123456789012'",
        "p.yaml: partner one: provider runsignup: token must not be in the file: name an "
        "environment variable instead (api_key_env, api_secret_env) (the value is not shown)",
        "p.yaml: partner one: provider runsignup: base_url must be an http:// or https:// URL",
        "p.yaml: partner one: provider runsignup: missing api_key_env (the name of the "
        "environment variable holding it)",
        "p.yaml: partner one: provider runsignup: api_secret_env must be the NAME of an "
        "environment variable (capitals, digits and _, e.g. P88_ACME_API_SECRET); the value "
        "given is not one and is not shown: if it is the secret itself, take it out of the file "
        "and rotate it",
        "p.yaml: partner one: provider runsignup: page_size must be a whole number > 0, got str",
        "p.yaml: partner one: provider haku: expected a mapping with base_url and the credential "
        "variable names",
        "p.yaml: partner one: provider racewire: unknown provider; known: runsignup, haku",
        "p.yaml: partners[1]: expected a mapping, got str",
        "p.yaml: partners[2] (id ''): slug '' must be lowercase letters, digits, '-' or '_' (it "
        "is a Dagster partition key)",
        "p.yaml: partner partners[2]: missing id",
        "p.yaml: partner partners[2]: providers must be a mapping (runsignup: ..., haku: ...)",
        "p.yaml: partners[3] (id None): slug 'Bad Slug' must be lowercase letters, digits, '-' "
        "or '_' (it is a Dagster partition key)",
        "p.yaml: partner partners[3]: missing id",
        "p.yaml: partner partners[3]: provider haku: base_url must be an http:// or https:// URL",
        "p.yaml: partner partners[3]: provider haku: client_id_env must be the NAME of an "
        "environment variable (capitals, digits and _, e.g. P88_ACME_CLIENT_ID); the value given "
        "is not one and is not shown: if it is the secret itself, take it out of the file and "
        "rotate it",
    ]
    assert caught.value.problems == expected
    assert str(caught.value) == "\n".join(expected)
    for secret in ("abc123", "ABCDEFGHIJKLMNO1", "hunter22"):
        assert secret not in str(caught.value)


def test_numbers_from_one_up_and_a_24_character_value_shown_whole() -> None:
    one = GOOD.replace(
        "api_secret_env: ACME_SECRET", "api_secret_env: ACME_SECRET\n        page_size: 1"
    )
    assert parse_partners(one)[0].accounts["runsignup"].page_size == 1
    shown = "'1234567890123456789012'"  # 24 characters with its quotes
    with pytest.raises(PartnerConfigError) as caught:
        parse_partners(GOOD.replace("slug: acme", f"slug: acme\n    active: {shown}"))
    assert caught.value.problems == [
        "partners.yaml: partner acme: active must be true or false (a YAML boolean, unquoted), "
        f"got {shown}"
    ]


def test_a_missing_only_base_url_is_a_problem_not_a_crash() -> None:
    no_url = GOOD.replace("        base_url: https://runsignup.com/Rest/\n", "")
    with pytest.raises(PartnerConfigError) as caught:
        parse_partners(no_url)
    assert caught.value.problems == [
        "partners.yaml: partner acme: provider runsignup: base_url must be an http:// or "
        "https:// URL"
    ]


def test_empty_and_duplicate_partners_and_a_loaded_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(PartnerConfigError) as caught:
        parse_partners("partners: []", source="p.yaml")
    assert caught.value.problems == ["p.yaml: partners: is empty: list at least one timing partner"]
    twice = GOOD + GOOD.replace("partners:\n", "").replace("id: 101", "id: 102")
    with pytest.raises(PartnerConfigError) as caught:
        parse_partners(twice, source="p.yaml")
    assert caught.value.problems == ["p.yaml: duplicate partner slug 'acme'"]
    path = tmp_path / "partners.yaml"
    path.write_text("partners: []")
    with pytest.raises(PartnerConfigError) as caught:
        load_partners(path)
    assert caught.value.problems == [
        f"{path}: partners: is empty: list at least one timing partner"
    ]


def test_credentials_come_from_the_process_environment_by_default(monkeypatch) -> None:
    [partner] = parse_partners(GOOD)
    monkeypatch.setenv("ACME_KEY", "k")
    monkeypatch.delenv("ACME_SECRET", raising=False)
    with pytest.raises(PartnerConfigError) as caught:
        partner.accounts["runsignup"].credentials("acme")
    assert str(caught.value) == (
        "partner acme: runsignup credential api_secret expects environment variable "
        "ACME_SECRET, which is not set"
    )
    monkeypatch.setenv("ACME_SECRET", "s")
    assert partner.accounts["runsignup"].credentials("acme") == {"api_key": "k", "api_secret": "s"}


def test_an_unknown_partner_lists_the_known_ones() -> None:
    partners = parse_partners(FULL)
    with pytest.raises(PartnerConfigError) as caught:
        find_partner(partners, "nine")
    assert str(caught.value) == "no timing partner 'nine' in partners file (known: seven, eight)"
