"""The light stage of `upgrade` (to head) and `check`: nothing to do, decided without the engine.

1. Hash the revision files (core/scripts.py) and wait for the database (core/pg.py).
2. Same files and same version rows as when the full stage last found head: done, exit 0.
3. `upgrade` with work to do: take the migration lock (core/lock.py); a runner that finds it
   held waits without a transaction and exits as soon as the holder has reached head.
   The one that gets the lock hands the session (connection open, lock held) to the engine.

Every hand-over logs one debug line, ``fast_path.handover``, with the reason and the file.
"""

from __future__ import annotations

from typing import Any

from migrator.core import lock, pg, plan, scripts, state
from migrator.core.session import Session


def decide(session: Session, command: str, target: str) -> tuple[str, ...] | None:
    """The version rows when there is nothing to do; None hands over to the full stage
    (the connection open when it was opened, the lock held for an upgrade with work)."""
    settings, emitter = session.settings, session.emitter
    located = scripts.locate(settings.config_path)
    if isinstance(located, scripts.Unreadable):
        emitter.emit("fast_path.handover", level="debug", reason=located.reason, path=located.path)
        return None
    try:
        fingerprint = session.fingerprint = scripts.fingerprint(located, session.sources)
    except OSError as exc:
        emitter.emit("fast_path.handover", level="debug", reason=exc.strerror or str(exc), path=exc.filename)
        return None
    psycopg2 = pg.driver()
    conn = session.connect()  # no URL: ConfigError (exit 2) now, without loading Alembic first
    table, schema = located.version_table, located.version_table_schema

    reason = ""

    def done() -> tuple[str, ...] | None:
        nonlocal reason
        outcome = plan.decide(command, target, state.read(state.cursor_query(conn), table, schema), fingerprint)
        if isinstance(outcome, plan.NothingToDo):
            return outcome.rows
        reason = outcome.reason if isinstance(outcome, plan.NeedsAlembic) else type(outcome).__name__
        return None

    try:
        head = done()
        if head is not None:
            session.close()
            return head
        emitter.emit("fast_path.handover", level="debug", reason=reason)
        if not plan.hands_over_locked(command):
            return None
        return _lock(session, conn, lock.key_for(settings.lock_key, table, schema), done)
    except psycopg2.Error as exc:
        if conn.closed:  # the connection is gone: the same answer the full stage would give
            raise pg.connection_lost(pg.message_of(exc)) from None
        emitter.emit("fast_path.handover", level="debug", reason=pg.message_of(exc))  # the full stage decides
        return None


def _lock(session: Session, conn: Any, key: int, done: Any) -> tuple[str, ...] | None:
    """Take the migration lock (waiting without a transaction); at head by then? done."""
    settings = session.settings
    head: tuple[str, ...] | None = None

    def reached() -> bool:
        nonlocal head
        head = done()
        return head is not None

    # The holder commits before it unlocks: all waiters wake at once and see head, in
    # parallel, instead of queueing for the lock one by one to find nothing to do.
    pid = lock.acquire(conn, key, settings.lock_timeout, session.stop, session.emitter, done=reached)
    if pid is None:
        session.close()
        return head
    session.locked_by = pid
    if reached():  # the holder we waited for did the work
        lock.release(conn, key, session.emitter)
        session.close()
        return head
    return None
