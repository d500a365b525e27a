"""Start lists on disk: `<dir>/<partner>/<provider>-<event>.csv` and a `manifest.json` per
partner (event, rows, sha256, exported at, and the fingerprint of what was exported).

An event is written only when its registrations changed since its last export (the database's
fingerprint differs from the manifest's) or its file is gone. Every file is written to a
temporary name and renamed over the old one, so timing software reading the directory never sees
half a start list; a lock file keeps a terminal export and a pipeline run of the same partner
from interleaving their manifests.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from p88_pipeline.config.partners import Partner
from p88_pipeline.reports.start_list import start_list, to_csv
from p88_pipeline.warehouse.race_week import (
    future_events,
    start_list_fingerprints,
    start_list_rows,
)

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Exported:
    provider: str
    event_id: str
    event_name: str
    path: Path
    rows: int
    sha256: str


@dataclass(frozen=True)
class ExportSelection:
    """Which of a partner's future start lists to write: one event's (`event_id`) or all; `force`
    rewrites those unchanged since their manifest entry too."""

    event_id: str | None = None
    force: bool = False


@dataclass
class ExportResult:
    directory: Path
    written: list[Exported] = field(default_factory=list)
    unchanged: int = 0


def file_name(provider: str, event_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in event_id)
    return f"{provider}-{safe}.csv"


def write_atomically(path: Path, data: bytes) -> None:
    """Temporary file in the same directory, fsync, rename: readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.exists():
        return {"events": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest.get("events"), dict):
            raise ValueError("no 'events' object")
    except (ValueError, AttributeError) as exc:
        raise ValueError(
            f"{path} is not a start-list manifest ({exc}); move it away and every start list "
            "of the partner is exported again"
        ) from exc
    return manifest


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export_start_lists(
    engine: sa.Engine,
    partner: Partner,
    root: Path,
    cutoff: datetime,
    selection: ExportSelection = ExportSelection(),
) -> ExportResult:
    """Write the changed start lists of one partner's future events, one event at a time."""
    partner_id, slug, force = partner.id, partner.slug, selection.force
    directory = root / slug
    directory.mkdir(parents=True, exist_ok=True)
    result = ExportResult(directory)
    exported_at = datetime.now(UTC).isoformat()
    with _locked(directory):
        manifest = read_manifest(directory)
        entries: dict = manifest.setdefault("events", {})
        fingerprints = start_list_fingerprints(engine, partner_id, cutoff)
        events = future_events(engine, partner_id, cutoff, selection.event_id)
        for event in events.itertuples(index=False):
            key = f"{event.provider}/{event.event_id}"
            name = file_name(event.provider, event.event_id)
            fingerprint = fingerprints.get((event.provider, event.event_id))
            previous = entries.get(key, {})
            if (
                not force
                and previous.get("fingerprint") == fingerprint
                and (directory / name).exists()
            ):
                result.unchanged += 1
                continue
            regs = start_list_rows(engine, event.provider, partner_id, event.event_id)
            frame = start_list(regs, event.provider)
            data, rows = to_csv(frame), len(frame)
            write_atomically(directory / name, data)
            digest = hashlib.sha256(data).hexdigest()
            entries[key] = {
                "provider": event.provider,
                "event_id": event.event_id,
                "event_name": event.name,
                "start_time": None if pd.isna(event.start_time) else event.start_time.isoformat(),
                "file": name,
                "rows": rows,
                "sha256": digest,
                "exported_at": exported_at,
                "fingerprint": fingerprint,
            }
            result.written.append(
                Exported(event.provider, event.event_id, event.name, directory / name, rows, digest)
            )
        manifest["partner"] = slug
        if result.written:
            manifest["updated_at"] = exported_at
            text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
            write_atomically(directory / MANIFEST, text.encode("utf-8"))
    return result
