"""While CREATE INDEX CONCURRENTLY builds, log pg_stat_progress_create_index from a second connection.

The migrating connection is busy inside the statement, so the run's one kind of watcher
(engine/watch.py: a thread with a short-lived connection of its own, opened only once the build
has run for one interval, never failing the build) polls the view for that backend's row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection

from migrator.engine import logs
from migrator.engine.watch import Watch

_PROGRESS = text(
    """
    select phase, lockers_total, lockers_done, blocks_total, blocks_done, tuples_total, tuples_done
    from pg_stat_progress_create_index where pid = :pid
    """
)


def watching(url: URL, backend_pid: int, index: str, interval: float = 1.0) -> Watch:
    """``with watching(url, pid, index):`` around the statement; leaving the block stops the watcher."""

    def report(conn: Connection) -> None:
        row = conn.execute(_PROGRESS, {"pid": backend_pid}).first()
        if row is not None:
            logs.get().info("online.index_progress", index=index, **_fields(row))

    return Watch(url, [report], interval=interval, grace=interval)


def _fields(row: Any) -> dict[str, Any]:
    """The view's row as event fields; the counters that do not apply to the phase are left out."""
    fields: dict[str, Any] = {"phase": row.phase}
    for name in ("lockers", "blocks", "tuples"):
        total, done = getattr(row, f"{name}_total"), getattr(row, f"{name}_done")
        if total:
            fields[f"{name}_done"], fields[f"{name}_total"] = int(done), int(total)
    return fields
