"""Per-migration events (engine/progress.py): positions, the heartbeat's timing, the backend's account."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from migrator.core.events import Emitter
from migrator.core.signals import Stop
from migrator.engine.progress import Heartbeat, Progress, Step, backend_fields

ACTIVITY = {"state": "active", "wait_event_type": "Lock", "wait_event": "virtualxid"}
NO_PROGRESS = dict.fromkeys(
    [
        "index_command",
        "index_phase",
        "index_relation",
        "blocks_done",
        "blocks_total",
        "tuples_done",
        "tuples_total",
        "cluster_command",
        "cluster_phase",
        "cluster_relation",
        "heap_blks_scanned",
        "heap_blks_total",
        "heap_tuples_scanned",
        "heap_tuples_written",
    ]
)


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def step(revision: str = "r1", started: float = 100.0) -> Step:
    return Step(revision, "", "upgrade", started, datetime.now(UTC), 1, 3)


def test_the_backend_account_is_its_wait_alone_when_postgresql_reports_no_progress() -> None:
    """A backend that runs no CREATE INDEX or CLUSTER: state and wait event, nothing more; a gone one: all None."""
    assert backend_fields({**NO_PROGRESS, **ACTIVITY}) == ACTIVITY
    assert backend_fields(None) == {"state": None, "wait_event_type": None, "wait_event": None}


def test_create_index_progress_is_shown_as_postgresql_reports_it() -> None:
    """pg_stat_progress_create_index: operation, phase, relation, blocks and tuples done of total."""
    row = {
        **NO_PROGRESS,
        **ACTIVITY,
        "index_command": "CREATE INDEX",
        "index_phase": "building index: scanning table",
        "index_relation": "items",
        "blocks_done": 40,
        "blocks_total": 100,
        "tuples_done": 0,
        "tuples_total": 0,
    }
    assert backend_fields(row) == {
        **ACTIVITY,
        "operation": "CREATE INDEX",
        "phase": "building index: scanning table",
        "relation": "items",
        "blocks_done": 40,
        "blocks_total": 100,
        "tuples_done": 0,
        "tuples_total": 0,
    }


def test_cluster_progress_names_its_heap_counters() -> None:
    """pg_stat_progress_cluster (CLUSTER, VACUUM FULL): heap blocks scanned of total, tuples scanned and written."""
    row = {
        **NO_PROGRESS,
        **ACTIVITY,
        "cluster_command": "VACUUM FULL",
        "cluster_phase": "seq scanning heap",
        "cluster_relation": "items",
        "heap_blks_scanned": 7,
        "heap_blks_total": 9,
        "heap_tuples_scanned": 700,
        "heap_tuples_written": 650,
    }
    assert backend_fields(row) == {
        **ACTIVITY,
        "operation": "VACUUM FULL",
        "phase": "seq scanning heap",
        "relation": "items",
        "blocks_done": 7,
        "blocks_total": 9,
        "tuples_scanned": 700,
        "tuples_written": 650,
    }


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_step_beats_at_each_interval_of_its_run_without_bursts() -> None:
    """Beats at 1x, 2x... the interval after the step started; a late look gives one beat, not several."""
    clock, running = Clock(100.0), step(started=100.0)
    heartbeat = Heartbeat(7, lambda: running, interval=1.0, clock=clock)
    seen = []
    for now in (100.5, 100.99, 101.0, 101.5, 102.1, 105.7, 105.8, 106.0):
        clock.now = now
        seen.append(heartbeat.due() is not None)
    assert seen == [False, False, True, False, True, True, False, True]


def test_a_new_step_starts_its_own_count_and_interval_0_never_beats() -> None:
    """The next migration beats an interval after its own start; with interval 0 nothing is ever due."""
    clock = Clock(100.0)
    current: list[Step | None] = [step("r1", 100.0)]
    heartbeat = Heartbeat(7, lambda: current[0], interval=2.0, clock=clock)
    clock.now = 102.0
    assert heartbeat.due() is current[0]
    current[0], clock.now = step("r2", 102.5), 103.0
    assert heartbeat.due() is None
    clock.now = 104.5
    assert heartbeat.due() is current[0]
    current[0] = None
    assert heartbeat.due() is None
    assert Heartbeat(7, lambda: step(), interval=0, clock=Clock(1e9)).due() is None


def _steps(progress: Progress, revisions: Iterator[str]) -> None:
    for revision in revisions:
        progress.started(revision, "", "upgrade")
    progress.finish()


def test_started_steps_count_from_the_steps_that_stayed_applied() -> None:
    """position k of total n; after a failure only the committed steps count; total is left out past it."""
    stream = io.StringIO()
    progress = Progress(Stop(), Emitter("json", "info", stream).emit)
    progress.expect(3)
    _steps(progress, iter(["a", "b"]))
    progress.keep_only(["a"])  # b rolled back: the retry runs it again
    _steps(progress, iter(["b", "c", "d"]))
    started = [
        (e["revision"], e["position"], e.get("total")) for e in events(stream) if e["event"] == "migration.started"
    ]
    assert started == [("a", 1, 3), ("b", 2, 3), ("b", 2, 3), ("c", 3, 3), ("d", 4, None)]
