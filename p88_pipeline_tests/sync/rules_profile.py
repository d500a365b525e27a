"""What the rules suite needs to know of a provider to drive the same tests through it.

Only test facts live here (which partner to sync, where participants are read, how to make an
incremental read filter on the server); every other fact comes from the provider's spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from p88_pipeline.providers.spec import ProviderSpec
from p88_sandbox.fakes.provider import FakeProvider


@dataclass(frozen=True)
class RulesProfile:
    """`participants_path(race_id)`: a fragment of the URL that reads one race's participants;
    `filter_options`/`filter_knobs`: partner options and sandbox knobs under which incremental
    reads send a server-side filter (so a refused filter can be tested); `test_only`: a spec and its
    sandbox fake the suite registers for the test's duration."""

    provider: str
    slug: str
    participants_path: Callable[[str], str]
    filter_options: Mapping[str, Any] = field(default_factory=dict)
    filter_knobs: Mapping[str, Any] = field(default_factory=dict)
    test_only: tuple[ProviderSpec, FakeProvider] | None = None
