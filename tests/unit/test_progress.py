"""Per-migration events (engine/progress.py): each step's position in the run."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from migrator.core.events import Emitter
from migrator.core.signals import Stop
from migrator.engine import logs
from migrator.engine.progress import Progress


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _steps(progress: Progress, revisions: Iterator[str]) -> None:
    for revision in revisions:
        progress.started(revision, "", "upgrade")
    progress.finish()


def test_started_steps_count_from_the_steps_that_stayed_applied() -> None:
    """position k of total n; after a failure only the committed steps count; total is left out past it."""
    stream = io.StringIO()
    logs.configure(Emitter("json", "info", stream))
    progress = Progress(Stop())
    progress.expect(3)
    _steps(progress, iter(["a", "b"]))
    progress.keep_only(["a"])  # b rolled back: the retry runs it again
    _steps(progress, iter(["b", "c", "d"]))
    started = [
        (e["revision"], e["position"], e.get("total")) for e in events(stream) if e["event"] == "migration.started"
    ]
    assert started == [("a", 1, 3), ("b", 2, 3), ("b", 2, 3), ("c", 3, 3), ("d", 4, None)]
