"""A partners.yaml pointing at a running sandbox, and the environment holding its secrets.

The file names environment variables, never values (the loader's rule); `partner_environment`
is the matching mapping a test monkeypatches or the `p88 sandbox serve` command prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from p88_pipeline.sandbox.server import SandboxServer
    from p88_pipeline.sandbox.world import World


def env_name(slug: str, provider: str, what: str) -> str:
    """P88_<SLUG>_<PROVIDER>_<WHAT>, e.g. P88_ALPHA_RUNSIGNUP_KEY."""
    clean = "".join(c if c.isalnum() else "_" for c in slug.upper())
    return f"P88_{clean}_{provider.upper()}_{what}"


def render_partners_yaml(world: World, server: SandboxServer) -> str:
    lines = ["# credentials are environment variable NAMES, never values", "partners:"]
    for p in world.partners:
        lines += [
            f"  - id: {p.id}",
            f"    slug: {p.slug}",
            f"    name: {p.name}",
            "    active: true",
            "    sync_interval_minutes: 60",
            "    providers:",
        ]
        if "runsignup" in p.providers:
            lines += [
                "      runsignup:",
                f"        base_url: {server.runsignup_base_url}",
                f"        api_key_env: {env_name(p.slug, 'runsignup', 'KEY')}",
                f"        api_secret_env: {env_name(p.slug, 'runsignup', 'SECRET')}",
            ]
        if "haku" in p.providers:
            lines += [
                "      haku:",
                f"        base_url: {server.haku_api_url}",
                f"        token_url: {server.haku_token_url}",
                f"        client_id_env: {env_name(p.slug, 'haku', 'CLIENT_ID')}",
                f"        client_secret_env: {env_name(p.slug, 'haku', 'CLIENT_SECRET')}",
            ]
    return "\n".join(lines) + "\n"


def partner_environment(world: World) -> dict[str, str]:
    """Environment variable name -> secret value, for every credential the file names."""
    env: dict[str, str] = {}
    for p in world.partners:
        if "runsignup" in p.providers and p.api_key and p.api_secret:
            env[env_name(p.slug, "runsignup", "KEY")] = p.api_key
            env[env_name(p.slug, "runsignup", "SECRET")] = p.api_secret
        if "haku" in p.providers and p.client_id and p.client_secret:
            env[env_name(p.slug, "haku", "CLIENT_ID")] = p.client_id
            env[env_name(p.slug, "haku", "CLIENT_SECRET")] = p.client_secret
    return env
