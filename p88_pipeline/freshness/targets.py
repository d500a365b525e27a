"""partners.yaml `freshness:` (rule 7): a partner's targets by proximity and quota share,
validated like the other options."""

from __future__ import annotations

from typing import Any

from p88_pipeline.freshness.plan import FreshnessTargets

FRESHNESS_KEYS = tuple(FreshnessTargets.__dataclass_fields__)


def parse_freshness(check: Any, where: str, raw: Any) -> FreshnessTargets:
    """The partner's `freshness:` overrides; every other field keeps its default. `check` is
    partners.py's problem collector (one line per problem, all reported at once)."""
    default = FreshnessTargets()
    if raw is None:
        return default
    where = f"{where}: freshness"
    if not isinstance(raw, dict):
        check.add(where, f"expected a mapping of {', '.join(FRESHNESS_KEYS)}")
        return default
    check.unknown_keys(where, raw, FRESHNESS_KEYS)
    values: dict[str, Any] = {}
    for key in FRESHNESS_KEYS:
        if key == "quota_share":
            share = raw.get(key, default.quota_share)
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
                check.add(where, f"quota_share must be a number > 0 and <= 1, got {share!r:.24}")
            else:
                values[key] = float(share)
        elif (value := check.positive_int(where, raw, key, getattr(default, key))) is not None:
            values[key] = value
    targets = FreshnessTargets(**values)
    if targets.near_hours > targets.soon_days * 24:
        check.add(where, f"near_hours ({targets.near_hours}) must not exceed soon_days x 24")
    return targets
