"""Reliability fixtures: a tiny sandbox world whose partners have two future races each (seed 10),
so a failing race can be seen next to one that keeps going."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from p88_pipeline.config.partners import parse_partners
from p88_pipeline_tests.helpers import Sandbox

SEED = 10  # bravo: 2 future RunSignUp races; alpha: 2 future Haku events, 2 RunSignUp races


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    world = World(seed=SEED, scale="tiny")
    with SandboxServer(world) as server:
        env = partner_environment(world)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield Sandbox(world, server, parse_partners(render_partners_yaml(world, server)), env)
