"""RunSignUp's facts: credentials, quota, page sizes, client and probe."""

from __future__ import annotations

from p88_pipeline.providers.runsignup.client import (
    DOCUMENTED_CAPS,
    PARTICIPANTS_PAGE_MAX,
    RACES_PAGE_MAX,
    REMOVED_PAGE_SIZE,
    RunSignUpClient,
)
from p88_pipeline.providers.runsignup.probe import CHECKS, probe
from p88_pipeline.providers.runsignup.records import PROVIDER
from p88_pipeline.providers.spec import ProviderSpec

PAGE_SIZES = {
    "races": RACES_PAGE_MAX,
    "participants": PARTICIPANTS_PAGE_MAX,
    "removed-participants": REMOVED_PAGE_SIZE,
}


SPEC = ProviderSpec(
    name=PROVIDER,
    label="RunSignUp",
    credential_fields=("api_key_env", "api_secret_env"),
    option_fields=("only_partner_races", "removed_page_size"),
    default_quota_per_hour=1000,
    page_sizes=PAGE_SIZES,
    page_caps=DOCUMENTED_CAPS,
    build_client=RunSignUpClient.from_account,
    probe=probe,
    probe_checks=CHECKS,
)
