"""Masking secrets in text that leaves the process (alerts, tables): generic, no partner logic.

Error messages carry secrets in more than one spelling: RunSignUp keys travel in query strings
(percent-encoded), database URLs carry passwords. So every secret is masked raw and URL-encoded,
and any `scheme://user:password@` in the text loses its password whatever it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, urlsplit

MASK = "***"
# Shorter values are not secrets worth the mangling masking them would do to ordinary words.
MIN_SECRET_LENGTH = 4

_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)(?P<password>[^\s@/]+)(?P<at>@)"
)


def spellings(secret: str) -> set[str]:
    """The forms a secret takes in messages: raw and URL-encoded (path and query styles)."""
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def redact(text: str, secrets: Iterable[str], mask: str = MASK) -> str:
    """`text` with every spelling of every secret, and every URL password, replaced by `mask`."""
    forms = {form for s in secrets if s and len(s) >= MIN_SECRET_LENGTH for form in spellings(s)}
    for form in sorted(forms, key=len, reverse=True):  # longest first: no partial leftovers
        text = text.replace(form, mask)
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{mask}{m['at']}", text)


def redact_value(value: object, secrets: Iterable[str], mask: str = MASK) -> object:
    """Redact strings inside nested lists/dicts (Slack blocks) without changing their shape."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets, mask)
    if isinstance(value, Mapping):
        return {k: redact_value(v, secrets, mask) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets, mask) for v in value]
    return value


def env_values(names: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """Values of the named environment variables that are set."""
    return [environ[n] for n in names if environ.get(n)]


def url_password(url: str | None) -> str | None:
    """The password inside a connection URL, if any (so it is masked even outside a URL)."""
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None
