"""Safe DDL: short lock_timeout on the migration session, who is blocking us, retry decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

LOCK_NOT_AVAILABLE = "55P03"


def set_timeouts(conn: Connection, lock_timeout: float, statement_timeout: float | None) -> None:
    """Session settings for the migration (0 disables, as in PostgreSQL)."""
    conn.exec_driver_sql(f"set lock_timeout = {round(lock_timeout * 1000)}")
    conn.exec_driver_sql(f"set statement_timeout = {round((statement_timeout or 0) * 1000)}")
    conn.commit()


def is_lock_timeout(exc: BaseException | None) -> bool:
    """The statement gave up waiting for a lock (SQLSTATE 55P03)."""
    while exc is not None:
        if isinstance(exc, DBAPIError) and getattr(exc.orig, "pgcode", None) == LOCK_NOT_AVAILABLE:
            return True
        exc = exc.__cause__
    return False


@dataclass(frozen=True)
class Blocker:
    pid: int
    application_name: str
    query_start: str | None
    state: str | None

    def describe(self) -> str:
        return (
            f"pid {self.pid} (application_name={self.application_name!r}, state={self.state}, "
            f"query started {self.query_start})"
        )


_BLOCKERS = text(
    """
    select pid, application_name, query_start, state from pg_stat_activity
    where pid = any(pg_blocking_pids(:pid)) order by pid
    """
)


class Blockers:
    """Which sessions block the migrating backend, as last seen (an observer of engine/watch.py)."""

    def __init__(self, backend_pid: int) -> None:
        self.backend_pid = backend_pid
        self.seen: list[Blocker] = []

    def observe(self, conn: Connection) -> None:
        found = [_blocker(r) for r in conn.execute(_BLOCKERS, {"pid": self.backend_pid}).all()]
        if found:
            self.seen = found


def _blocker(row: Any) -> Blocker:
    started = row.query_start.isoformat() if row.query_start is not None else None
    return Blocker(int(row.pid), row.application_name or "", started, row.state)
