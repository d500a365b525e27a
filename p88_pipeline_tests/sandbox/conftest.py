"""A tiny world over real HTTP, and callers for its fakes (callers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from p88_pipeline_tests.sandbox.callers import Haku, RunSignUp
from p88_sandbox.config import SandboxConfig
from p88_sandbox.server import SandboxServer
from p88_sandbox.world import World


@pytest.fixture
def world() -> World:
    return World(seed=88, scale="tiny")


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig().set("runsignup", error_array_every=0)


@pytest.fixture
def server(world: World, config: SandboxConfig) -> Iterator[SandboxServer]:
    with SandboxServer(world, config=config) as server:
        yield server


@pytest.fixture
def rsu(server: SandboxServer) -> RunSignUp:
    return RunSignUp(server, "alpha")


@pytest.fixture
def haku(server: SandboxServer) -> Haku:
    return Haku(server, "alpha")
