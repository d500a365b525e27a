"""partners.yaml: who we sync, from which platforms, with credentials named (never stored) here.

Validation happens at load time so a bad file fails before any API call, with the partner named.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from p88_pipeline.freshness.plan import FreshnessTargets
from p88_pipeline.freshness.targets import parse_freshness
from p88_pipeline.providers.base import ProviderConfigError
from p88_pipeline.providers.registry import names, spec_for

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Keys that would put a secret itself in the file: refused, the file names variables only.
SECRET_KEYS = {
    "api_key",
    "api_secret",
    "client_id",
    "client_secret",
    "secret",
    "password",
    "token",
    "access_token",
    "apikey",
}
_SECRET_SQUASHED = {re.sub(r"[^a-z0-9]", "", k) for k in SECRET_KEYS}
PARTNER_KEYS = ("id", "slug", "name", "active", "sync_interval_minutes", "freshness", "providers")
# Variable names are capitals by convention; anything else is refused so a pasted secret is too.
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")


class PartnerConfigError(ProviderConfigError):
    """partners.yaml is malformed, names an unknown provider, or a credential variable is unset.

    `problems` holds one line per problem (a file can have several); str() joins them.
    """

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ProviderAccount:
    provider: str
    base_url: str
    credential_envs: Mapping[str, str]
    quota_per_hour: int
    page_size: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def credentials(self, partner_slug: str, environ: Mapping[str, str] | None = None) -> dict:
        """Resolve credential values from the environment; the error names the variable only."""
        env = os.environ if environ is None else environ
        values = {}
        for field_name, var in self.credential_envs.items():
            value = env.get(var)
            if not value:
                raise PartnerConfigError(
                    f"partner {partner_slug}: {self.provider} credential {field_name[:-4]} "
                    f"expects environment variable {var}, which is not set"
                )
            values[field_name[:-4]] = value
        return values


@dataclass(frozen=True)
class Partner:
    id: str
    slug: str
    name: str
    active: bool = True
    sync_interval_minutes: int | None = None  # set: a ceiling on every freshness target
    accounts: Mapping[str, ProviderAccount] = field(default_factory=dict)
    freshness: FreshnessTargets = FreshnessTargets()

    def account(self, provider: str) -> ProviderAccount | None:
        return self.accounts.get(provider)

    @property
    def targets(self) -> FreshnessTargets:
        """Freshness by proximity, capped by sync_interval_minutes where the file sets it."""
        return self.freshness.capped(self.sync_interval_minutes)


def _close(key: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


class _Checker:
    """Collects every problem of one file, each naming file, partner, provider and field."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(
            f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}"
        )

    def unknown_keys(self, where: str, raw: Mapping, known: Iterable[str], hint: str = "") -> None:
        known = list(known)
        for key in raw:
            if key in known:
                continue
            if _squash(str(key)) in _SECRET_SQUASHED:
                self.add(
                    where,
                    f"{key} must not be in the file: name an environment variable instead"
                    f"{hint} (the value is not shown)",
                )
            else:
                self.add(
                    where,
                    f"unknown key {key}{_close(str(key), known)}; allowed: {', '.join(known)}",
                )

    def positive_int(self, where: str, raw: Mapping, key: str, default: int | None) -> int | None:
        value = raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            shown = repr(value) if len(repr(value)) <= 24 else type(value).__name__
            self.add(where, f"{key} must be a whole number > 0, got {shown}")
            return default
        return value

    def boolean(self, where: str, raw: Mapping, key: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            shown = repr(value) if len(repr(value)) <= 24 else type(value).__name__
            self.add(where, f"{key} must be true or false (a YAML boolean, unquoted), got {shown}")
            return default
        return value

    def env_name(self, where: str, key: str, value: Any) -> str | None:
        if not value:
            return None
        if not isinstance(value, str) or not ENV_NAME.match(value) or _looks_secret(value):
            self.add(
                where,
                f"{key} must be the NAME of an environment variable (capitals, digits and _, "
                f"e.g. P88_ACME_{key[:-4].upper()}); the value given is not one and is not shown: "
                "if it is the secret itself, take it out of the file and rotate it",
            )
            return None
        return value


def _looks_secret(value: str) -> bool:
    """Capitals-and-digits tokens without a word break are keys, not variable names."""
    return "_" not in value and len(value) >= 16 and any(c.isdigit() for c in value)


def _account(check: _Checker, slug: str, provider: str, raw: Any) -> ProviderAccount | None:
    where = f"partner {slug}: provider {provider}"
    if provider not in names():
        check.add(
            where, f"unknown provider{_close(provider, names())}; known: {', '.join(names())}"
        )
        return None
    spec = spec_for(provider)
    if not isinstance(raw, dict):
        check.add(where, "expected a mapping with base_url and the credential variable names")
        return None
    credential_fields = spec.credential_fields
    known = ["base_url", *credential_fields, "quota_per_hour", "page_size", *spec.option_fields]
    check.unknown_keys(where, raw, known, f" ({', '.join(credential_fields)})")
    base_url = raw.get("base_url")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        check.add(where, "base_url must be an http:// or https:// URL")
    envs = {}
    for name in credential_fields:
        if raw.get(name) in (None, ""):
            check.add(where, f"missing {name} (the name of the environment variable holding it)")
        elif (var := check.env_name(where, name, raw[name])) is not None:
            envs[name] = var
    quota = check.positive_int(where, raw, "quota_per_hour", spec.default_quota_per_hour)
    page_size = check.positive_int(where, raw, "page_size", None)
    if len(envs) < len(credential_fields) or not isinstance(base_url, str):
        return None
    return ProviderAccount(
        provider=provider,
        base_url=base_url.rstrip("/"),
        credential_envs=envs,
        quota_per_hour=quota or spec.default_quota_per_hour,
        page_size=page_size,
        options={k: raw[k] for k in spec.option_fields if k in raw},
    )


def _partner(check: _Checker, raw: Any, index: int) -> Partner | None:
    if not isinstance(raw, dict):
        check.add(f"partners[{index}]", f"expected a mapping, got {type(raw).__name__}")
        return None
    slug = str(raw.get("slug", "")).strip()
    if not SLUG.match(slug):
        check.add(
            f"partners[{index}] (id {raw.get('id')!r})",
            f"slug {slug!r} must be lowercase letters, digits, '-' or '_' "
            "(it is a Dagster partition key)",
        )
        slug = f"partners[{index}]"
    where = f"partner {slug}"
    check.unknown_keys(where, raw, PARTNER_KEYS)
    if raw.get("id") in (None, ""):
        check.add(where, "missing id")
    active = check.boolean(where, raw, "active", True)
    interval = check.positive_int(where, raw, "sync_interval_minutes", None)
    freshness = parse_freshness(check, where, raw.get("freshness"))
    providers = raw.get("providers") or {}
    if not isinstance(providers, dict):
        check.add(where, "providers must be a mapping (runsignup: ..., haku: ...)")
        providers = {}
    accounts = {p: _account(check, slug, str(p), cfg) for p, cfg in providers.items()}
    return Partner(
        id=str(raw.get("id")),
        slug=slug,
        name=str(raw.get("name") or slug),
        active=active,
        sync_interval_minutes=interval,
        accounts={p: a for p, a in accounts.items() if a is not None},
        freshness=freshness,
    )


def parse_partners(text: str, source: str = "partners.yaml") -> list[Partner]:
    """Every problem of the file at once, one line each, so one edit fixes them all."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PartnerConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("partners"), list):
        raise PartnerConfigError(f"{source}: expected a top-level 'partners:' list")
    check = _Checker(source)
    check.unknown_keys("", doc, ["partners"])
    if not doc["partners"]:
        check.add("", "partners: is empty: list at least one timing partner")
    found = [_partner(check, raw, i) for i, raw in enumerate(doc["partners"])]
    partners = [p for p in found if p is not None]
    for attr in ("id", "slug"):
        seen: set[str] = set()
        for p in partners:
            value = getattr(p, attr)
            if value in seen:
                check.add("", f"duplicate partner {attr} {value!r}")
            seen.add(value)
    if check.problems:
        raise PartnerConfigError(check.problems)
    return partners


def load_partners(path: Path | str) -> list[Partner]:
    path = Path(path)
    if not path.exists():
        raise PartnerConfigError(
            f"partners file {path} not found (set P88_PARTNERS_FILE or copy partners.example.yaml)"
        )
    return parse_partners(path.read_text(), source=str(path))


def find_partner(partners: list[Partner], key: str) -> Partner:
    """By slug or id: operators use either."""
    for p in partners:
        if key in (p.slug, p.id):
            return p
    raise PartnerConfigError(
        f"no timing partner {key!r} in partners file (known: {', '.join(p.slug for p in partners)})"
    )
