"""While CREATE INDEX CONCURRENTLY builds, log pg_stat_progress_create_index from a second connection.

The migrating connection is busy inside the statement, so a thread polls the view for that
backend's row from a short-lived connection of its own (same URL, never logged). It connects
only once the build has run for one interval, so a quick build costs nothing; a watcher that
cannot connect or read only loses the progress lines (one debug line says why), never the build.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from migrator.engine import logs
from migrator.engine.db import error_text, make_engine

_PROGRESS = text(
    """
    select phase, lockers_total, lockers_done, blocks_total, blocks_done, tuples_total, tuples_done
    from pg_stat_progress_create_index where pid = :pid
    """
)


class IndexProgress:
    """``with IndexProgress(url, pid, index):`` around the statement; leaving the block stops the thread."""

    def __init__(self, url: URL, backend_pid: int, index: str, interval: float = 1.0) -> None:
        self.url = url
        self.backend_pid = backend_pid
        self.index = index
        self.interval = interval
        self.reports = 0  # progress lines logged
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="migrator-index-progress", daemon=True)

    def __enter__(self) -> IndexProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        # A connect that hangs must not hold the migration up: the thread is a daemon.
        self._thread.join(timeout=self.interval + 5)

    def _watch(self) -> None:
        if self._done.wait(self.interval):
            return
        log = logs.get()
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # holds no snapshot between polls
                while not self._done.is_set():
                    row = conn.execute(_PROGRESS, {"pid": self.backend_pid}).first()
                    if row is not None:
                        log.info("online.index_progress", index=self.index, **_fields(row))
                        self.reports += 1
                    self._done.wait(self.interval)
        except DBAPIError as exc:
            log.debug("online.index_progress_unavailable", index=self.index, reason=error_text(exc))
        finally:
            engine.dispose()


def _fields(row: Any) -> dict[str, Any]:
    """The view's row as event fields; the counters that do not apply to the phase are left out."""
    fields: dict[str, Any] = {"phase": row.phase}
    for name in ("lockers", "blocks", "tuples"):
        total, done = getattr(row, f"{name}_total"), getattr(row, f"{name}_done")
        if total:
            fields[f"{name}_done"], fields[f"{name}_total"] = int(done), int(total)
    return fields
