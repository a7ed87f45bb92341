"""Notice a revision that ends the migration's transaction itself.

Alembic opens the transaction (one per run by default, one per migration with
--transaction-per-migration, a fresh one after each ``autocommit_block()``) through
SQLAlchemy. A revision that runs a raw ``COMMIT`` (or commits the DBAPI connection) ends it
behind SQLAlchemy's back: what ran before is committed, and the statements after it commit one
by one. libpq tracks the server's transaction status from every reply, so after each migration
the connection says, without a round trip, whether a transaction is still open: idle where
SQLAlchemy believes one is open means the revision ended it.

When it did: the run logs ``migration.committed_on_its_own`` naming the revision, the history
rows of what is now committed are written at once, and a new transaction is opened so the rest
of the run is atomic again (a later failure rolls back to this point).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from migrator.engine import logs


class TransactionWatch:
    def __init__(self, committed: Callable[[Connection], None]) -> None:
        self.committed = committed  # writes what the ended transaction committed (history rows)

    def on_version_apply(self, *, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        """After each step, in what should be the transaction Alembic opened (an Alembic hook)."""
        connection = ctx.connection
        if connection is None or not connection.in_transaction():
            return
        raw = connection.connection.dbapi_connection
        if raw is None or raw.autocommit or raw.info.transaction_status != _IDLE:
            return
        logs.get().warning(
            "migration.committed_on_its_own",
            revision=getattr(step, "up_revision_id", None),  # the revision applied or reverted
            reason="the revision ended the migration's transaction itself (a COMMIT or a commit() on the "
            "connection): what ran before it is committed, whatever fails later",
            hint="let Alembic own the transaction: put statements that must run outside it in "
            "`with op.get_context().autocommit_block():`",
        )
        self.committed(connection)
        with raw.cursor() as cursor:
            cursor.execute("BEGIN")  # the rest of the run is atomic again


_IDLE = 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE: connected, no transaction open
