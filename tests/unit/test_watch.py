"""The migration watcher (engine/watch.py) only ever loses detail: it never raises into the run."""

from __future__ import annotations

import io
import json

from sqlalchemy.engine import URL, Connection

from migrator.core.events import Emitter
from migrator.engine import logs
from migrator.engine.watch import Watch
from tests.conftest import wait_until


def stopped_reason(url: URL) -> str:
    """Run a watcher until it gives up; the reason of its one debug line."""
    stream = io.StringIO()
    logs.configure(Emitter("json", "debug", stream))
    looked: list[Connection] = []
    with Watch(url, [looked.append], interval=0.01, grace=0):
        wait_until(lambda: "migration.watch_stopped" in stream.getvalue(), timeout=30, what="the watcher to stop")
    assert looked == []
    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (line["event"], line["level"]) == ("migration.watch_stopped", "debug")
    return str(line["reason"])


def test_a_watcher_that_cannot_connect_stops_with_a_debug_line() -> None:
    """No server on the port: the watcher says why at debug, and nothing reaches the run (or shows a password)."""
    url = URL.create("postgresql+psycopg2", "u", "hunter22", "127.0.0.1", 1, "db")
    reason = stopped_reason(url)
    assert "127.0.0.1" in reason and "hunter22" not in reason


def test_any_other_failure_of_the_watcher_is_caught_too() -> None:
    """Not a database error (here: no such driver): still one debug line, no exception in the thread."""
    assert stopped_reason(URL.create("nosuchdialect")).startswith("NoSuchModuleError: ")
