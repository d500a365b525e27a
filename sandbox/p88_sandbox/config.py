"""Sandbox knobs: everything PROVIDERS.md marks as unknown is a setting here, not a constant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p88_pipeline.providers.registry import specs
from p88_sandbox.fakes.registry import fakes

RECORD_FAULTS = ("odd_records", "invalid_records", "shift_pages")  # see record_faults.py
FAULT_KINDS = (
    "throttle",
    "http_500",
    "http_503",
    "timeout",
    "drop",
    "truncated_json",
    "not_json",
    "error_in_array",
    "bad_request",
    *RECORD_FAULTS,
)
BODY_FAULTS = ("truncated_json", *RECORD_FAULTS)  # the real answer, altered


def is_participants_path(path: str) -> bool:
    """A participants page (not removed-participants): where record faults apply."""
    return path.rstrip("/").endswith("/participants")


def is_removals_path(path: str) -> bool:
    """A removed-participants page: `invalid_records` applies there when asked by path."""
    return path.rstrip("/").endswith("/removed-participants")


@dataclass
class Fault:
    """Answer the next `count` matching calls badly.

    partner_slug None matches every partner; path_contains narrows to some URLs; `seconds` is how
    long a `timeout` hangs before dropping the connection; `error_code` is the code an
    `error_in_array` fault reports (default 5, database error). Record faults (RECORD_FAULTS)
    only match participants pages; `invalid_records` with a `path_contains` naming
    "removed-participants" matches those pages instead. By schedule: `after` matching calls
    pass untouched first; by rate: each later matching call is faulted with probability `rate`
    (seeded, see the server).
    """

    provider: str
    partner_slug: str | None
    kind: str
    count: int = 1
    path_contains: str | None = None
    seconds: float | None = None
    error_code: int | None = None
    after: int = 0
    rate: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (known: {', '.join(FAULT_KINDS)})")

    def matches(self, provider: str, partner_slug: str | None, path: str) -> bool:
        return (
            self.count > 0
            and self.provider == provider
            and (self.partner_slug is None or self.partner_slug == partner_slug)
            and (self.path_contains is None or self.path_contains in path)
            and (
                self.kind not in RECORD_FAULTS
                or is_participants_path(path)
                or (
                    self.kind == "invalid_records"
                    and is_removals_path(path)
                    and "removed-participants" in (self.path_contains or "")
                )
            )
        )


def _quotas() -> dict[str, int]:
    return {spec.name: spec.default_quota_per_hour for spec in specs()}


def _fake_settings() -> dict[str, Any]:
    return {fake.name: fake.settings() for fake in fakes()}


@dataclass
class SandboxConfig:
    """Transport, quotas and faults here; each fake's own knobs under `providers[name]`."""

    # quotas: calls per partner and provider in a sliding window on the WALL clock
    quota_per_hour: dict[str, int] = field(default_factory=_quotas)
    quota_window_seconds: float = 3600.0
    providers: dict[str, Any] = field(default_factory=_fake_settings)
    # transport
    latency_ms: int = 0
    timeout_seconds: float = 5.0  # how long a `timeout` fault hangs before dropping
    faults: list[Fault] = field(default_factory=list)

    def of(self, provider: str) -> Any:
        """The fake's settings dataclass of one provider (e.g. `of("haku").max_per_page`)."""
        return self.providers[provider]

    def set(self, provider: str, **knobs: Any) -> SandboxConfig:
        """Change knobs of one provider's fake (unknown names refused); returns the config."""
        settings = self.of(provider)
        for name, value in knobs.items():
            if not hasattr(settings, name):
                raise ValueError(f"{provider} sandbox has no setting {name!r}")
            setattr(settings, name, value)
        return self
