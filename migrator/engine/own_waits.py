"""A migration's own second connection, waiting on the migration's transaction: a wait without end.

A revision that opens another connection (``psycopg2.connect(os.environ["DATABASE_URL"])``, an engine
of its own) and touches what the migration has locked waits for the migration's transaction, which
waits for the revision: neither the lock timeout nor the statement timeout of the migrating session
covers it (that session is idle, waiting on us). While migrations run, every connection the project's
code opens without an application_name of its own carries this process's tag (libpq's ``PGAPPNAME``),
so the watcher can tell such a session from the application's: one that has waited on the migrating
backend for the DDL lock timeout is cancelled, and the migration fails naming its statement.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from migrator.core.errors import MigrationFailed
from migrator.engine import logs

_WAITING_ON_US = text(
    """
    select pid, query, extract(epoch from now() - coalesce(state_change, query_start)) as waited
    from pg_stat_activity
    where application_name = :tag and :pid = any(pg_blocking_pids(pid)) order by pid
    """
)
_CANCEL = text("select pg_cancel_backend(:pid)")


def tag() -> str:
    """The application_name of the connections this process's project code opens during a run."""
    return f"migrator {os.getpid()} migration code"


@contextmanager
def tagged() -> Iterator[None]:
    """While the block runs, libpq names the project's own connections with tag() (PGAPPNAME)."""
    saved = os.environ.get("PGAPPNAME")
    os.environ["PGAPPNAME"] = tag()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PGAPPNAME", None)
        else:
            os.environ["PGAPPNAME"] = saved


@dataclass
class Cancelled:
    pid: int
    query: str
    waited_s: float


class OwnWaits:
    """An observer of engine/watch.py: cancels our own code's sessions that wait on the migrating backend."""

    def __init__(self, backend_pid: int, patience: float) -> None:
        self.backend_pid = backend_pid
        self.patience = patience
        self.cancelled: Cancelled | None = None

    def observe(self, conn: Connection) -> None:
        for pid, query, waited in conn.execute(_WAITING_ON_US, {"tag": tag(), "pid": self.backend_pid}).all():
            if float(waited or 0) < self.patience:
                continue
            self.cancelled = Cancelled(int(pid), str(query or ""), round(float(waited), 1))
            logs.get().warning(
                "migration.own_connection_waiting",
                pid=int(pid),
                statement=self.cancelled.query,
                waited_s=self.cancelled.waited_s,
                reason="a second connection of the migration's own code waits on the migration's transaction",
            )
            conn.execute(_CANCEL, {"pid": int(pid)})

    def explained(self, exc: MigrationFailed, revision: str | None) -> MigrationFailed:
        """The failure, said as what it was when this observer cancelled the wait."""
        if self.cancelled is None:
            return exc
        found = self.cancelled
        name = f"migration {revision}" if revision else "the migration"
        return MigrationFailed(
            f"{name} opened its own second connection (pid {found.pid}), which waited {found.waited_s:g}s "
            f"on the migration's own transaction and would have waited for ever: {found.query!r} was cancelled",
            hint="run that statement on the migration's connection (op.execute, op.get_bind()), or commit "
            "first inside `with op.get_context().autocommit_block():`; " + (exc.hint or ""),
        )
