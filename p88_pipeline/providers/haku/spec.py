"""Haku's facts: credentials, quota, page sizes, client and probe."""

from __future__ import annotations

from p88_pipeline.providers.haku.client import DEFAULT_PAGE_SIZE, DOCUMENTED_CAPS, HakuClient
from p88_pipeline.providers.haku.probe import CHECKS, probe
from p88_pipeline.providers.haku.records import PROVIDER
from p88_pipeline.providers.spec import ProviderSpec

PAGE_SIZES = {"events": DEFAULT_PAGE_SIZE, "participants": DEFAULT_PAGE_SIZE}


SPEC = ProviderSpec(
    name=PROVIDER,
    label="Haku",
    credential_fields=("client_id_env", "client_secret_env"),
    default_quota_per_hour=500,
    page_sizes=PAGE_SIZES,
    page_caps=DOCUMENTED_CAPS,  # undocumented: learned per account
    build_client=HakuClient.from_account,
    probe=probe,
    probe_checks=CHECKS,
    min_race_calls=1.0,  # one registrations read per event; cancellations are records
    server_filter=False,  # no confirmed updated_since: newest-first early stop
    option_fields=("token_url", "updated_since_param", "timezone"),
)
