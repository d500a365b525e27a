"""Build a partner's client for a provider: the one place that knows every platform's class."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from p88_pipeline.partners import Partner
from p88_pipeline.providers.base import ProviderClient
from p88_pipeline.providers.http import ApiSession, RetryPolicy
from p88_pipeline.providers.quota import TokenBucket


def build_client(
    partner: Partner,
    provider: str,
    *,
    environ: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
) -> ProviderClient:
    """Credentials resolved from the environment now, so a missing one fails before any call."""
    account = partner.account(provider)
    if account is None:
        raise KeyError(f"partner {partner.slug} has no {provider} account")
    creds = account.credentials(partner.slug, environ)
    session_kwargs = {"sleep": sleep} if sleep else {}
    session = ApiSession(
        provider, partner.slug, limiter=TokenBucket(account.quota_per_hour),
        secrets=creds.values(), retry=retry,
        verify_tls=bool(account.options.get("verify_tls", True)), **session_kwargs,
    )  # fmt: skip
    if provider == "runsignup":
        from p88_pipeline.providers.runsignup import PARTICIPANTS_PAGE_MAX, RunSignUpClient

        return RunSignUpClient(
            session, account.base_url, creds["api_key"], creds["api_secret"],
            page_size=account.page_size or PARTICIPANTS_PAGE_MAX,
        )  # fmt: skip
    if provider == "haku":
        from p88_pipeline.providers.haku import HakuClient

        return HakuClient.from_account(session, account, creds)
    raise KeyError(f"unknown provider {provider}")
