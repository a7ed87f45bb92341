"""The migration lock: a session-level PostgreSQL advisory lock on the migration connection."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from migrator.core.errors import LockNotHeld
from migrator.core.lockkey import (
    HOLDERS_SQL,
    TRY_SQL,
    WAIT_ENDED_CODES,
    WAIT_SQL,
    WAIT_TIMEOUT_SQL,
    Holder,
    holders_from_rows,
    key_parts,
    lock_key,
    timeout_error,
    wait_slice,
    waiting_fields,
)
from migrator.core.signals import Stop
from migrator.engine import logs

__all__ = ["advisory_lock", "holders", "is_lock_ours", "key_parts", "lock_key"]

_BACKOFF_FIRST = 0.02
_BACKOFF_MAX = 0.2
_REPORT_EVERY = 5.0


def holders(conn: Connection, key: int) -> list[Holder]:
    found = holders_from_rows(conn.exec_driver_sql(HOLDERS_SQL, key_parts(key)).all())
    conn.commit()
    return found


@contextmanager
def advisory_lock(
    conn: Connection,
    key: int,
    timeout: float,
    stop: Stop,
    other_client_pid: Callable[[], int],
    held_by: int | None = None,
) -> Iterator[None]:
    """Hold the lock for the block; raise LockTimeout after ``timeout`` seconds of waiting.

    ``other_client_pid`` opens a second client connection and returns its backend pid:
    behind a transaction pooler it is served by our own backend.
    """
    log = logs.get().bind(lock_key=key)
    started = time.monotonic()
    # The light path may have taken it already, on this very connection.
    acquired_by = held_by if held_by is not None else _acquire(conn, key, timeout, stop, log)
    try:
        _verify_held(conn, key, acquired_by, other_client_pid)
        log.info("lock.acquired", waited_ms=round((time.monotonic() - started) * 1000), backend_pid=acquired_by)
        yield
    finally:
        _release(conn, key, log)


def _acquire(conn: Connection, key: int, timeout: float, stop: Stop, log: Any) -> int:
    """Wait until the lock is ours (inside PostgreSQL, not by polling); return the backend pid that took it."""
    started = time.monotonic()
    deadline = started + timeout
    next_report, backoff, freed = started, _BACKOFF_FIRST, False
    while True:
        got, pid = conn.exec_driver_sql(TRY_SQL, (key,)).one()
        conn.commit()
        if got:
            return int(pid)
        if freed:  # the holder let go but another runner was quicker: spread out the race
            if stop.event.wait(random.uniform(0, backoff)):
                stop.raise_if_stopped()
            backoff = min(backoff * 2, _BACKOFF_MAX)
        now = time.monotonic()
        if now >= deadline:
            raise timeout_error(key, timeout, holders(conn, key))
        if now >= next_report:
            log.info("lock.waiting", waited_s=round(now - started, 1), **waiting_fields(holders(conn, key)))
            next_report = now + _REPORT_EVERY
        freed = _wait_for_holder(conn, key, min(next_report, deadline) - now)
        stop.raise_if_stopped()


def _wait_for_holder(conn: Connection, key: int, seconds: float) -> bool:
    """Block until the holder unlocks, for at most ``seconds``; True if it did (see lockkey.WAIT_SQL)."""
    try:
        conn.exec_driver_sql(WAIT_TIMEOUT_SQL, (wait_slice(seconds),))
        conn.exec_driver_sql(WAIT_SQL, (key,))
        return True
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) in WAIT_ENDED_CODES:
            return False
        raise
    finally:
        conn.rollback()


_HELD_HERE = text(
    """
    select pg_backend_pid() as pid, exists(
        select 1 from pg_locks
        where locktype = 'advisory' and granted and pid = pg_backend_pid()
          and classid::bigint = :classid and objid::bigint = :objid and objsubid = 1
    ) as held
    """
)


def _verify_held(conn: Connection, key: int, acquired_by: int, other_client_pid: Callable[[], int]) -> None:
    """Refuse when the lock is not bound to a backend of our own.

    Behind a transaction-pooling proxy (PgBouncer) each transaction may run on
    another server session, and server sessions are shared between clients, so a
    session lock taken in one protects nothing. Two symptoms, either is enough: our
    next transaction runs on another backend or does not see the lock, or another
    client connection is served by the backend that took it.
    """
    classid, objid = key_parts(key)
    row = conn.execute(_HELD_HERE, {"classid": classid, "objid": objid}).one()
    conn.commit()
    other = other_client_pid()
    if not is_lock_ours(acquired_by, int(row.pid), bool(row.held), other):
        raise LockNotHeld(
            f"the advisory lock taken by backend pid {acquired_by} is not bound to this connection "
            f"(next transaction on backend {row.pid}, lock seen there: {bool(row.held)}; another client "
            f"was served by backend {other}): a transaction-pooling proxy such as PgBouncer is between "
            "migrator and PostgreSQL, and a session lock behind it protects nothing",
            hint="point migrator at PostgreSQL directly or at a session-pooling port",
        )


def is_lock_ours(acquired_by: int, current_pid: int, held_by_current: bool, other_client_pid: int) -> bool:
    """The lock holder is our own backend and no other client shares it."""
    return acquired_by == current_pid and held_by_current and other_client_pid != acquired_by


def _release(conn: Connection, key: int, log: Any) -> None:
    try:
        if conn.in_transaction():
            conn.rollback()
        conn.execute(text("select pg_advisory_unlock(:key)"), {"key": key})
        conn.commit()
        log.info("lock.released")
    except Exception as exc:  # noqa: BLE001  (closing the connection releases it anyway)
        log.info("lock.released", via="connection close", reason=type(exc).__name__)
