"""A partners.yaml pointing at a running sandbox, and the environment holding its secrets.

The file names environment variables, never values (the loader's rule); `partner_environment`
is the matching mapping a test monkeypatches or the `p88 sandbox serve` command prints.
"""

from __future__ import annotations

from typing import Protocol

from p88_sandbox.fakes.registry import fake_for
from p88_sandbox.view import WorldView


class Accounts(Protocol):
    """Where each provider's fake is served (the running `SandboxServer`)."""

    def account(self, provider: str) -> dict[str, str]: ...


def env_name(slug: str, provider: str, what: str) -> str:
    """P88_<SLUG>_<PROVIDER>_<WHAT>, e.g. P88_ALPHA_RUNSIGNUP_KEY."""
    clean = "".join(c if c.isalnum() else "_" for c in slug.upper())
    return f"P88_{clean}_{provider.upper()}_{what}"


def _credential_lines(slug: str, provider: str) -> list[str]:
    shape = fake_for(provider).world
    return [
        f"        {name}_env: {env_name(slug, provider, suffix)}"
        for name, suffix in shape.secrets.items()
    ]


def render_partners_yaml(world: WorldView, server: Accounts) -> str:
    lines = ["# credentials are environment variable NAMES, never values", "partners:"]
    for p in world.partners:
        lines += [
            f"  - id: {p.id}",
            f"    slug: {p.slug}",
            f"    name: {p.name}",
            "    active: true",
            "    providers:",
        ]
        for provider in p.providers:
            lines.append(f"      {provider}:")
            lines += [f"        {key}: {value}" for key, value in server.account(provider).items()]
            lines += _credential_lines(p.slug, provider)
    return "\n".join(lines) + "\n"


def partner_environment(world: WorldView) -> dict[str, str]:
    """Environment variable name -> secret value, for every credential the file names."""
    env: dict[str, str] = {}
    for p in world.partners:
        for provider, secrets in p.secrets.items():
            suffixes = fake_for(provider).world.secrets
            for name, value in secrets.items():
                env[env_name(p.slug, provider, suffixes[name])] = value
    return env
