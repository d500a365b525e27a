"""What `p88 doctor` asks of a live account, judged once for every provider.

Each provider's probe (providers/<name>/probe.py, `ProviderSpec.probe`) only says which calls to
make, at most two pages per list endpoint; the judgments (clock skew, page caps, required fields,
sort order, the incremental filter) live here, so RunSignUp and Haku are judged alike. What the
probe learns about page caps goes into the client's `PageCaps`, which the doctor persists for the
sync (warehouse/page_caps.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from p88_pipeline.providers.base import AuthError, Event, ProviderError

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
MAX_CALLS = 8  # per account: a probe stays a handful of calls of the hourly quota
SKEW_WARN_S = 120.0


@dataclass(frozen=True)
class Check:
    check: str
    status: str
    detail: str
    action: str = ""


Watch = Callable[[str, int, int], None]  # (step under way, checks made, API calls so far)


@dataclass(frozen=True)
class RowsRead:
    """What a probe's read of a list found: rows in all, those refused, those without a time."""

    total: int
    rejected: Sequence[Any] = ()
    untimed: int = 0


@dataclass(frozen=True)
class ProbeTarget:
    """Where to aim: `largest` is the partner's biggest stored future event (None before the
    first sync: then the first future event listed); `now` is this host's clock. `watch` hears
    of every step and check as it happens (p88 doctor's progress row)."""

    now: datetime
    largest: Event | None = None
    largest_rows: int = 0
    watch: Watch | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    more: bool | None = None  # pagination metadata: None when the answer carries none


@dataclass
class Probe:
    """One account's checks, in the order they were made."""

    client: Any
    target: ProbeTarget
    checks: list[Check] = field(default_factory=list)
    _step: str = "authentication"

    @property
    def step(self) -> str:
        """What a refusal or an error is a FAIL of; the providers set it as they go."""
        return self._step

    @step.setter
    def step(self, name: str) -> None:
        self._step = name
        self._tell()

    def _tell(self) -> None:
        if self.target.watch is not None:
            self.target.watch(self._step, len(self.checks), getattr(self.client, "calls", 0))

    def add(self, check: str, status: str, detail: str, action: str = "") -> None:
        self.checks.append(Check(check, status, detail, action))
        self._tell()

    def authenticated(self, how: str) -> None:
        """After the first call that needed the credentials: accepted, and the server's clock."""
        self.add("authentication", PASS, how)
        server = self.client.server_time()
        if server is None:
            self.add("clock skew", WARN, "no Date header", "watermarks use this host's clock")
            return
        skew = round((server - self.target.now).total_seconds())
        if abs(skew) > SKEW_WARN_S:
            self.add(
                "clock skew",
                WARN,
                f"server clock {skew:+d} s from this host's",
                "fix this host's time (NTP): the future-event cutoff uses it",
            )
        else:
            self.add("clock skew", PASS, f"{skew:+d} s (Date header)")

    def second_page_needed(self, asked: int, first: Page) -> bool:
        """A short page without metadata proves nothing: one more page tells a cap from an end."""
        return first.more is None and 0 < len(first.rows) < asked

    def page_cap(self, endpoint: str, asked: int, first: Page, second: Page | None) -> None:
        """Learn (into the client's caps) and judge the endpoint's page size from <= 2 pages."""
        caps, rows = self.client.caps, len(first.rows)
        caps.learn(endpoint, page=max(rows, len(second.rows) if second else 0))
        name = f"page cap: {endpoint}"
        if rows >= asked:
            self.add(name, PASS, f"a full page of {asked} rows as asked")
        elif first.more or (second is not None and len(second.rows) > 0):
            caps.learn(endpoint, cap=rows)
            said = "Link rel=next" if first.more else "page 2 had more rows"
            self.add(
                name,
                WARN,
                f"pages hold {rows} rows though {asked} were asked ({said}): a silent cap",
                f"nothing to do: learned and saved, the sync asks {rows} per page from now on",
            )
        elif rows == 0:
            self.add(name, PASS, "empty list: nothing to measure")
        else:
            how = "pagination metadata" if first.more is False else "page 2 was empty"
            self.add(name, PASS, f"{rows} rows < {asked} asked, the last page ({how})")

    def rows(self, what: str, read: RowsRead, needs: str, about: str = "") -> None:
        """Required fields of list rows: ids (else the row is rejected) and modification times."""
        name, before = f"fields: {what}", len(self.checks)
        total, rejected, untimed = read.total, read.rejected, read.untimed
        if total == 0:
            self.add(name, PASS, "no rows to look at")
        elif rejected:
            status = FAIL if len(rejected) * 2 > total else WARN
            reason = getattr(rejected[0], "reason", "")
            self.add(
                name,
                status,
                f"{len(rejected)} of {total} rows unreadable ({reason})",
                f"the sync quarantines them in rejected_records; rows need {needs}",
            )
        elif untimed:
            self.add(
                name,
                WARN,
                f"{untimed} of {total} rows without a modification time",
                "stored anyway; their events are read whole each run (full_compare), "
                "which costs every page of every future event",
            )
        else:
            self.add(name, PASS, f"{total} rows with {needs}")
        if about:
            last = self.checks[before]
            self.checks[before] = Check(
                last.check, last.status, f"{about}: {last.detail}", last.action
            )

    def order(self, what: str, keys: Sequence[Any], descending: bool, fail: str, why: str) -> None:
        pairs = list(pairwise(keys))
        wrong = sum(1 for a, b in pairs if (a < b if descending else a > b))
        name = f"sort order: {what}"
        if len(keys) < 2:
            self.add(name, PASS, "fewer than 2 rows: nothing to compare")
        elif wrong:
            self.add(name, fail, f"{wrong} of {len(pairs)} neighbours out of order", why)
        else:
            self.add(name, PASS, f"{len(keys)} rows in order")

    def future_filter(self, param: str, rows: int) -> None:
        name = "incremental filter"
        if rows == 0:
            self.add(name, PASS, f"{param} one day ahead returns nothing")
        else:
            self.add(
                name,
                FAIL,
                f"{param} one day ahead still returns rows: the filter is not applied "
                "as p88 reads it",
                "incremental syncs cannot be trusted: sync with --force-full-sync until the "
                "provider confirms the parameter",
            )

    def pick(self, listed: Sequence[Event]) -> tuple[Event | None, str]:
        """The event to probe pages with: the biggest stored one, else the first future listed."""
        if self.target.largest is not None:
            return self.target.largest, f"{self.target.largest_rows} stored registrations"
        future = [e for e in listed if e.start_time is None or e.start_time > self.target.now]
        chosen = (future or list(listed) or [None])[0]
        return chosen, "first future event listed (nothing stored yet)"


def run_probe(client: Any, target: ProbeTarget, steps: Callable[[Probe], None]) -> list[Check]:
    """The provider's steps, with a refusal or an error stopping them as a FAIL of the step."""
    probe = Probe(client, target)
    envs = ", ".join(getattr(client.session, "credential_envs", ())) or "the credentials"
    try:
        steps(probe)
    except AuthError as exc:
        probe.add(
            "authentication",
            FAIL,
            client.session.redact(str(exc))[:200],
            f"check the values of {envs} (the provider refused them)",
        )
    except ProviderError as exc:
        probe.add(
            probe.step,
            FAIL,
            client.session.redact(str(exc))[:200],
            "run it again; if it persists, the provider's answer is not what p88 reads",
        )
    return probe.checks


def probe_with(
    steps: Callable[[Any, Probe], None],
) -> Callable[[Any, ProbeTarget], list[Check]]:
    """A provider's probe (ProviderSpec.probe) from its steps on (client, probe)."""

    def probe(client: Any, target: ProbeTarget) -> list[Check]:
        return run_probe(client, target, lambda p: steps(client, p))

    return probe
