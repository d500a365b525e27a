"""Every provider the rules suite runs for: the registered ones, then test-only ones."""

from __future__ import annotations

from p88_pipeline_tests.providers.restful.spec import PROFILE as RESTFUL
from p88_pipeline_tests.sync.rules_profile import RulesProfile

RUNSIGNUP = RulesProfile("runsignup", "bravo", lambda race: f"/race/{race}/participants")
HAKU = RulesProfile(
    "haku",
    "alpha",
    lambda race: f"/events/{race}/participants",
    filter_options={"updated_since_param": "updated_since"},
    filter_knobs={"updated_since": True},
)

PROFILES: tuple[RulesProfile, ...] = (RUNSIGNUP, HAKU, RESTFUL)
