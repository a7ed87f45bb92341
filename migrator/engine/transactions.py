"""Notice a revision that ends the migration's transaction itself.

Alembic opens the transaction (one per run by default, one per migration with
--transaction-per-migration, a fresh one after each ``autocommit_block()``) through
SQLAlchemy, so each of those fires the connection's ``begin`` event. A revision that runs a
raw ``COMMIT`` (or commits the DBAPI connection) ends it behind SQLAlchemy's back: what ran
before is committed, and the statements after it commit one by one. ``now()`` is fixed for a
transaction's life, so reading it at ``begin`` and again after each migration tells whether
the transaction is still the one Alembic opened.

When it is not: the run logs ``migration.committed_on_its_own`` naming the revision, the
history rows of what is now committed are written at once, and a new transaction is opened
so the rest of the run is atomic again (a later failure rolls back to this point).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

from migrator.engine import logs


class TransactionWatch:
    def __init__(self, committed: Callable[[Connection], None]) -> None:
        self.committed = committed  # writes what the ended transaction committed (history rows)
        self.opened_at: Any = None  # the transaction's now(), None when unknown (autocommit)
        self.listening: Connection | None = None

    def attach(self, connection: Connection) -> None:
        self.detach()
        event.listen(connection, "begin", self._begun)
        self.listening = connection

    def detach(self) -> None:
        if self.listening is not None:
            event.remove(self.listening, "begin", self._begun)
            self.listening = None

    def _begun(self, connection: Connection) -> None:
        self.opened_at = _transaction_time(connection)

    def on_version_apply(self, *, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        """After each step, in what should be the transaction Alembic opened (an Alembic hook)."""
        connection = ctx.connection
        if self.opened_at is None or connection is None:
            return
        now = _transaction_time(connection)
        if now is None or now == self.opened_at:
            return
        revision = (
            getattr(step, "up_revision_id", None) if step.is_upgrade else getattr(step, "down_revision_ids", None)
        )
        logs.get().warning(
            "migration.committed_on_its_own",
            revision=revision,
            reason="the revision ended the migration's transaction itself (a COMMIT or a commit() on the "
            "connection): what ran before it is committed, whatever fails later",
            hint="let Alembic own the transaction: put statements that must run outside it in "
            "`with op.get_context().autocommit_block():`",
        )
        self.committed(connection)
        _raw(connection).cursor().execute("BEGIN")  # the rest of the run is atomic again
        self.opened_at = _transaction_time(connection)


def _raw(connection: Connection) -> Any:
    return connection.connection.dbapi_connection


def _transaction_time(connection: Connection) -> Any:
    """The server's now() in the connection's transaction; None outside one (autocommit)."""
    raw = _raw(connection)
    if raw is None or raw.autocommit:
        return None
    with raw.cursor() as cursor:
        cursor.execute("select now()")
        return cursor.fetchone()[0]
