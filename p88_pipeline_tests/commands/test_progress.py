"""The progress display as a plain object: off a terminal, lines at the cadence and at each row's
end with no control character whatever the text holds; on one, rich redraws in place. And the
figures the workers sample from the engine's running stages (sync.live)."""

from __future__ import annotations

import io
import re
import time

from p88_pipeline.commands.progress import WAITING, Progress
from p88_pipeline.sync import live
from p88_pipeline.sync.figures import SyncFigures

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # anything but the newline


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_one_heartbeat_line_when_rows_moved_and_one_line_per_row_end() -> None:
    out = io.StringIO()
    with Progress("p88 test", unit="events", stream=out, every_s=0.05) as progress:
        progress.update("bravo runsignup", status=WAITING, text="queued")
        progress.update("alpha haku", done=1, total=4, text="rows 10\r\x1b[2Kcalls 3", status="a")
        progress.update("alpha runsignup", status="events list")
        time.sleep(0.3)  # several ticks: nothing moved after the first, nothing more said
        progress.update("alpha haku", done=3, total=4, text="rows 30, calls 5")
        time.sleep(0.3)
        progress.note("p88 test: a note\x1b[1A of its own")
        progress.finish("alpha haku", "success", text="rows 40, calls 6")
        progress.update("alpha haku", done=0, text="after its end: ignored")
    lines = out.getvalue().splitlines()
    assert not CONTROL.search(out.getvalue()), out.getvalue()
    beats = [re.sub(r"^p88 test: \d+s, ", "p88 test: Ns, ", x) for x in lines[:2]]
    assert beats == [
        "p88 test: Ns, 0 of 3 done; alpha haku a, 1/4 events, rows 10  [2Kcalls 3; "
        "alpha runsignup events list",
        "p88 test: Ns, 0 of 3 done; alpha haku a, 3/4 events, rows 30, calls 5; "
        "alpha runsignup events list",
    ], lines
    assert lines[2] == "p88 test: a note [1A of its own"
    assert re.fullmatch(
        r"p88 test: alpha haku: success, 3/4 events, rows 40, calls 6, [01]s", lines[3]
    )
    assert len(lines) == 4, lines  # the waiting row had nothing to say; nothing after the end


def test_on_a_terminal_rows_are_redrawn_in_place_and_cleared_at_the_end() -> None:
    out = Tty()
    with Progress("p88 test", unit="events", stream=out) as progress:
        assert progress.live
        progress.update("alpha haku", done=1, total=4, text="rows 10 [run 1]", status="syncing")
        time.sleep(0.6)
        progress.note("a note above the rows")
        progress.finish("alpha haku", "success", text="rows 40")
    text = out.getvalue()
    assert "\x1b[2K" in text and "\x1b[1A" in text  # erase line, cursor up: redrawn in place
    assert "alpha haku" in text and "1/4" in text and "syncing" in text
    assert "rows 10 [run 1]" in text  # text, not rich markup
    assert "a note above the rows" in text
    assert text.rstrip().endswith("\x1b[2K")  # transient: the rows are gone, the result follows


def test_a_dumb_terminal_gets_plain_lines(monkeypatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("FORCE_COLOR", "1")  # cannot turn plain lines into escapes either
    out = Tty()
    with Progress("p88 test", stream=out) as progress:
        progress.finish("alpha haku", "failed", text="AuthError")
    assert out.getvalue().startswith("p88 test: alpha haku: failed, AuthError, ")
    assert "\x1b" not in out.getvalue()


class Client:
    calls = 0


def test_live_snapshot_reads_the_running_stages_figures(monkeypatch) -> None:
    monkeypatch.setattr(live, "_stages", {})  # the process's stages: none from an earlier run
    events_client, participants_client = Client(), Client()
    events_client.calls, participants_client.calls = 5, 100  # earlier stages' calls: not ours
    events = SyncFigures("haku", "live-test")
    live.track("events", events, events_client)
    assert live.snapshot("live-test") == {"haku": {"calls": 0, "events_total": 0, "done": False}}
    events_client.calls += 3
    events.events_total = 9
    stage = SyncFigures("haku", "live-test", events_future=4)
    live.track("participants", stage, participants_client)
    participants_client.calls += 2
    stage.events_synced, stage.participants_upserted, stage.participants_rejected = 2, 50, 1
    assert live.snapshot("live-test")["haku"] == {
        "calls": 5,
        "events_total": 9,
        "events_future": 4,
        "events_synced": 2,
        "rows": 50,
        "removed": 0,
        "rejected": 1,
        "done": False,
    }
    stage.duration_s = 1.5
    assert live.snapshot("live-test")["haku"]["done"]
    assert live.snapshot("someone-else") == {}
    # a run that reuses the stored events list has no events stage: no events counted
    live.track("participants", SyncFigures("runsignup", "reuse-test"), Client())
    assert live.snapshot("reuse-test")["runsignup"]["events_total"] == 0
    # one client for both stages (one process running both): its calls are counted once
    shared = Client()
    shared.calls = 10
    live.track("events", SyncFigures("haku", "shared-test"), shared)
    shared.calls += 2
    live.track("participants", SyncFigures("haku", "shared-test", events_future=1), shared)
    shared.calls += 3
    assert live.snapshot("shared-test")["haku"]["calls"] == 5
