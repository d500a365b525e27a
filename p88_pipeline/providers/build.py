"""Build a partner's client for a provider from partners.yaml and the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from p88_pipeline.config.partners import Partner
from p88_pipeline.providers.base import ProviderClient
from p88_pipeline.providers.http import DEFAULT_TRANSPORT, ApiSession, Keys, Transport
from p88_pipeline.providers.quota import TokenBucket
from p88_pipeline.providers.registry import spec_for


def build_client(
    partner: Partner,
    provider: str,
    *,
    environ: Mapping[str, str] | None = None,
    transport: Transport = DEFAULT_TRANSPORT,
    spent_last_hour: int = 0,
) -> ProviderClient:
    """Credentials resolved from the environment now, so a missing one fails before any call.

    `spent_last_hour`: calls this partner already made on this account in the past hour (other
    runs, other steps); the budget starts that much lower so runs together stay in the quota.
    """
    spec = spec_for(provider)
    account = partner.account(provider)
    if account is None:
        raise KeyError(f"partner {partner.slug} has no {provider} account")
    creds = account.credentials(partner.slug, environ)
    # TLS verification is never switched off from partners.yaml: a private CA goes in
    # REQUESTS_CA_BUNDLE instead, which keeps verification on.
    session = ApiSession(
        provider,
        partner.slug,
        limiter=TokenBucket(account.quota_per_hour, spent=spent_last_hour),
        keys=Keys(tuple(creds.values()), tuple(account.credential_envs.values())),
        transport=replace(transport, verify_tls=True),
    )
    return spec.build_client(session, account, creds)
