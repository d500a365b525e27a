"""partners.yaml: bad files fail before any API call, naming the partner and the cause."""

import re
from pathlib import Path

import pytest

from p88_pipeline.partners import PartnerConfigError, find_partner, load_partners, parse_partners

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
    partners = load_partners(Path(__file__).parents[1] / "partners.example.yaml")
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
