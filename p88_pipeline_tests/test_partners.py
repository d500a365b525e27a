"""partners.yaml: bad files fail before any API call, naming the partner and the cause."""

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
