"""Secret masking as a plain function: every spelling written out literally, so the test does not
weaken with the code (it never asks `redaction` what the spellings are)."""

from __future__ import annotations

from p88_pipeline.lib import redaction

SECRET = "k3y w/ +&="  # a space, a slash and query-string specials: every spelling differs


def test_every_spelling_of_a_secret_is_masked() -> None:
    text = "raw k3y w/ +&= | path k3y%20w%2F%20%2B%26%3D | query k3y+w%2F+%2B%26%3D | end"
    assert redaction.redact(text, [SECRET]) == "raw *** | path *** | query *** | end"


def test_the_spellings_are_raw_percent_encoded_and_form_encoded() -> None:
    assert redaction.spellings(SECRET) == {
        "k3y w/ +&=",
        "k3y%20w%2F%20%2B%26%3D",
        "k3y+w%2F+%2B%26%3D",
    }


def test_longer_secrets_are_masked_first_so_no_piece_is_left() -> None:
    assert redaction.redact("token abcdef-123", ["abcd", "abcdef-123"]) == "token ***"
    # Longest, not last in alphabetical order: "zz99" sorts after "abcd-zz99-x".
    assert redaction.redact("token abcd-zz99-x", ["zz99", "abcd-zz99-x"]) == "token ***"


def test_short_or_empty_values_are_not_treated_as_secrets() -> None:
    assert redaction.redact("a bcd abcd", ["", "bcd", "abcd"], mask="#") == "a bcd #"


def test_url_passwords_are_masked_whatever_they_are() -> None:
    text = "connect postgresql+psycopg2://p88:s3cr%40t@db.example.com:5432/p88 failed"
    assert (
        redaction.redact(text, [])
        == "connect postgresql+psycopg2://p88:***@db.example.com:5432/p88 failed"
    )
    assert redaction.redact("https://host/path?a=1 user@example.com", []) == (
        "https://host/path?a=1 user@example.com"
    )


def test_nested_values_keep_their_shape() -> None:
    value = {"text": "key abcd", "blocks": [{"t": "abcd"}, ("x abcd", 3)], "n": None}
    assert redaction.redact_value(value, iter(["abcd"]), mask="?") == {
        "text": "key ?",
        "blocks": [{"t": "?"}, ["x ?", 3]],
        "n": None,
    }


def test_secret_values_come_from_the_named_variables_only() -> None:
    environ = {"A": "alpha-secret", "B": "", "C": "gamma"}
    assert redaction.env_values(["A", "B", "D"], environ) == ["alpha-secret"]


def test_the_password_of_a_connection_url() -> None:
    assert redaction.url_password("postgresql://u:pw%3F@h/db") == "pw%3F"
    assert redaction.url_password("postgresql://u@h/db") is None
    assert redaction.url_password(None) is None
    assert redaction.url_password("") is None
    assert redaction.url_password("http://[::1") is None  # unparsable: no crash
