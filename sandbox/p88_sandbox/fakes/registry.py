"""The sandbox's fake of every provider the product's registry knows, in the same order.

A test-only provider registers its spec with the product's registry and its fake here."""

from __future__ import annotations

from p88_pipeline.providers.registry import specs
from p88_sandbox.fakes.haku.fake import FAKE as HAKU
from p88_sandbox.fakes.provider import FakeProvider
from p88_sandbox.fakes.runsignup.fake import FAKE as RUNSIGNUP

_BUILT_IN = (RUNSIGNUP, HAKU)
_FAKES: dict[str, FakeProvider] = {fake.name: fake for fake in _BUILT_IN}


def fakes() -> tuple[FakeProvider, ...]:
    """In the product registry's order, which is the order the world is drawn in."""
    return tuple(_FAKES[spec.name] for spec in specs() if spec.name in _FAKES)


def fake_for(name: str) -> FakeProvider:
    try:
        return _FAKES[name]
    except KeyError:
        raise KeyError(f"the sandbox has no fake of provider {name!r}") from None


def register_fake(fake: FakeProvider) -> None:
    if fake.name in _FAKES:
        raise ValueError(f"a fake of {fake.name!r} is already registered")
    _FAKES[fake.name] = fake


def unregister_fake(name: str) -> None:
    if any(fake.name == name for fake in _BUILT_IN):
        raise ValueError(f"the fake of {name!r} is built in")
    _FAKES.pop(name, None)
