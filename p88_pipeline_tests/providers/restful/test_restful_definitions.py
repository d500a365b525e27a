"""A registered provider gets its assets, checks and job in the Definitions like the built-ins.

In a subprocess: the Definitions are built at import, and this process's must stay as shipped.
"""

from __future__ import annotations

import json
import subprocess
import sys

from p88_pipeline.settings import PROJECT_ROOT

SCRIPT = """
import json
from p88_pipeline.providers.registry import register
from p88_pipeline_tests.providers.restful.spec import SPEC
register(SPEC)
from p88_pipeline.definitions import defs
graph = defs.resolve_asset_graph()
print(json.dumps({
    "assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
    "checks": sorted(c.to_user_string() for c in graph.asset_check_keys),
    "job": defs.resolve_job_def("restful_sync").name,
}))
"""


def test_the_test_only_provider_has_assets_checks_and_a_job_in_the_definitions() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    restful = {a for a in found["assets"] if a.startswith("restful/")}
    assert restful == {"restful/events", "restful/future_events", "restful/participants"}
    assert any(c.startswith("restful/participants") for c in found["checks"])
    assert found["job"] == "restful_sync"
