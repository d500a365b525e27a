"""`p88 sandbox serve|advance`: run the provider simulator as its own process."""

from __future__ import annotations

import json
import signal
import threading
import urllib.request
from pathlib import Path

from p88_pipeline.providers.registry import specs


def serve(host: str, port: int, scale: str, seed: int, partners_out: str) -> int:
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    world = World(seed=seed, scale=scale)
    server = SandboxServer(world, host=host, port=port)
    server.start()
    Path(partners_out).write_text(render_partners_yaml(world, server))
    print(f"sandbox (scale {scale}, seed {seed}) serving at {server.url}", flush=True)
    for spec in specs():
        print(f"{spec.label}: {server.account(spec.name)}")
    print(f"partners file written to {partners_out}; export these credentials:")
    for name, value in partner_environment(world).items():
        print(f"export {name}={value}")
    print("Ctrl-C to stop", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


def advance(url: str, days: float) -> int:
    request = urllib.request.Request(
        f"{url.rstrip('/')}/_sandbox/advance?days={days}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        print(json.dumps(json.loads(response.read()), indent=2))
    return 0
