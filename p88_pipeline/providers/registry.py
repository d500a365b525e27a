"""Every provider p88 knows, in one place: the rest of p88 iterates this instead of naming them.

Adding a platform is its package (client, records, fake API, spec) plus one line in `_BUILT_IN`.
Tests may `register` a spec for a while (a test-only provider) and `unregister` it afterwards.
"""

from __future__ import annotations

from p88_pipeline.providers.haku.spec import SPEC as HAKU
from p88_pipeline.providers.runsignup.spec import SPEC as RUNSIGNUP
from p88_pipeline.providers.spec import ProviderSpec

_BUILT_IN = (RUNSIGNUP, HAKU)
_SPECS: dict[str, ProviderSpec] = {spec.name: spec for spec in _BUILT_IN}


def specs() -> tuple[ProviderSpec, ...]:
    """In registration order: the sandbox draws its world in this order."""
    return tuple(_SPECS.values())


def names() -> tuple[str, ...]:
    return tuple(_SPECS)


def pools() -> set[str]:
    """The Dagster pools of every provider's API-calling assets."""
    return {spec.pool for spec in _SPECS.values()}


def spec_for(name: str) -> ProviderSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r} (known: {', '.join(_SPECS)})") from None


def register(spec: ProviderSpec) -> None:
    if spec.name in _SPECS:
        raise ValueError(f"provider {spec.name!r} is already registered")
    _SPECS[spec.name] = spec


def unregister(name: str) -> None:
    if any(spec.name == name for spec in _BUILT_IN):
        raise ValueError(f"provider {name!r} is built in")
    _SPECS.pop(name, None)
