"""partners.yaml: who we sync, from which platforms, with credentials named (never stored) here.

Validation happens at load time so a bad file fails before any API call, with the partner named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
}


class PartnerConfigError(ProviderConfigError):
    """partners.yaml is malformed, names an unknown provider, or a credential variable is unset."""


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
    sync_interval_minutes: int = 60
    accounts: Mapping[str, ProviderAccount] = field(default_factory=dict)

    def account(self, provider: str) -> ProviderAccount | None:
        return self.accounts.get(provider)


def _account(slug: str, provider: str, raw: Any) -> ProviderAccount:
    where = f"partner {slug}: provider {provider}"
    if provider not in names():
        raise PartnerConfigError(f"{where}: unknown provider (known: {', '.join(names())})")
    spec = spec_for(provider)
    if not isinstance(raw, dict) or not raw.get("base_url"):
        raise PartnerConfigError(f"{where}: needs a mapping with base_url")
    literal = sorted(k for k in raw if k.lower() in SECRET_KEYS)
    if literal:
        raise PartnerConfigError(
            f"{where}: {', '.join(literal)} must not be in the file: name an environment "
            f"variable instead ({', '.join(spec.credential_fields)})"
        )
    missing = [f for f in spec.credential_fields if not raw.get(f)]
    if missing:
        raise PartnerConfigError(f"{where}: missing {', '.join(missing)}")
    known = {"base_url", "quota_per_hour", "page_size", *spec.credential_fields}
    return ProviderAccount(
        provider=provider,
        base_url=str(raw["base_url"]).rstrip("/"),
        credential_envs={f: str(raw[f]) for f in spec.credential_fields},
        quota_per_hour=int(raw.get("quota_per_hour", spec.default_quota_per_hour)),
        page_size=int(raw["page_size"]) if raw.get("page_size") else None,
        options={k: v for k, v in raw.items() if k not in known},
    )


def _partner(raw: Any, index: int) -> Partner:
    if not isinstance(raw, dict):
        raise PartnerConfigError(f"partners[{index}]: expected a mapping, got {type(raw).__name__}")
    slug = str(raw.get("slug", "")).strip()
    if not SLUG.match(slug):
        raise PartnerConfigError(
            f"partners[{index}] (id {raw.get('id')!r}): slug {slug!r} must be lowercase letters, "
            "digits, '-' or '_' (it is a Dagster partition key)"
        )
    if raw.get("id") in (None, ""):
        raise PartnerConfigError(f"partner {slug}: missing id")
    providers = raw.get("providers") or {}
    if not isinstance(providers, dict):
        raise PartnerConfigError(f"partner {slug}: providers must be a mapping")
    return Partner(
        id=str(raw["id"]),
        slug=slug,
        name=str(raw.get("name") or slug),
        active=bool(raw.get("active", True)),
        sync_interval_minutes=int(raw.get("sync_interval_minutes", 60)),
        accounts={p: _account(slug, p, cfg) for p, cfg in providers.items()},
    )


def parse_partners(text: str, source: str = "partners.yaml") -> list[Partner]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PartnerConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("partners"), list):
        raise PartnerConfigError(f"{source}: expected a top-level 'partners:' list")
    partners = [_partner(raw, i) for i, raw in enumerate(doc["partners"])]
    for attr in ("id", "slug"):
        seen: set[str] = set()
        for p in partners:
            value = getattr(p, attr)
            if value in seen:
                raise PartnerConfigError(f"{source}: duplicate partner {attr} {value!r}")
            seen.add(value)
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
