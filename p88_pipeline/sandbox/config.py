"""Sandbox knobs: everything PROVIDERS.md marks as unknown is a setting here, not a constant."""

from __future__ import annotations

from dataclasses import dataclass, field

RECORD_FAULTS = ("odd_records", "invalid_records", "shift_pages")  # see oddities.py
FAULT_KINDS = (
    "throttle",
    "http_500",
    "http_503",
    "timeout",
    "drop",
    "truncated_json",
    "not_json",
    "error_in_array",
    *RECORD_FAULTS,
)
BODY_FAULTS = ("truncated_json", *RECORD_FAULTS)  # the real answer, altered


def is_participants_path(path: str) -> bool:
    """A participants page (not removed-participants): where record faults apply."""
    return path.rstrip("/").endswith("/participants")


@dataclass
class Fault:
    """Answer the next `count` matching calls badly.

    partner_slug None matches every partner; path_contains narrows to some URLs; `seconds` is how
    long a `timeout` hangs before dropping the connection; `error_code` is the code an
    `error_in_array` fault reports (default 5, database error). Record faults (RECORD_FAULTS)
    only match participants pages. By schedule: `after` matching calls pass untouched first; by
    rate: each later matching call is faulted with probability `rate` (seeded, see the server).
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
            and (self.kind not in RECORD_FAULTS or is_participants_path(path))
        )


@dataclass
class SandboxConfig:
    # quotas: calls per partner and provider in a sliding window on the WALL clock
    runsignup_quota_per_hour: int = 1000
    haku_quota_per_hour: int = 500
    quota_window_seconds: float = 3600.0
    # RunSignUp
    runsignup_max_results_per_page: int = 2500
    runsignup_max_races_per_page: int = 1000
    runsignup_error_array_every: int = 3  # every Nth error body comes as [{"error": ...}]; 0 never
    # Haku
    haku_max_per_page: int = 100
    haku_default_per_page: int = 25
    haku_wrap_lists: bool = False  # {"data": [...]} instead of a bare list
    haku_updated_since: bool = False  # honour the filter parameter (the real API may not)
    haku_updated_since_param: str = "updated_since"
    haku_token_expires_in: int = 3600  # seconds of SIMULATED time
    haku_timestamp_style: str = "plain"  # plain 'YYYY-mm-dd HH:MM:SS' UTC | iso_z | iso
    # transport
    latency_ms: int = 0
    timeout_seconds: float = 5.0  # how long a `timeout` fault hangs before dropping
    faults: list[Fault] = field(default_factory=list)
