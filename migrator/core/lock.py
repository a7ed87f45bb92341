"""THE migration lock: a session-level advisory lock on the run's one connection (psycopg2).

A waiter holds no transaction while it waits: it LISTENs on a channel, tries the lock
whenever the holder announces that it let go (``pg_notify`` right after the unlock) and
at least every second (a holder that crashed sends nothing; its backend's end frees the
lock). A waiter that sat in an open transaction would hold back every
``CREATE INDEX CONCURRENTLY`` the holder runs (it waits for older snapshots), a deadlock.
"""

from __future__ import annotations

import hashlib
import select
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from migrator.core import pg
from migrator.core.errors import LockNotHeld, LockTimeout
from migrator.core.events import Emitter
from migrator.core.signals import Stop
from migrator.core.urls import DatabaseUrl

CHANNEL = "migrator_lock"
RETRY_EVERY = 1.0
REPORT_EVERY = 5.0
_POLL_SLICE = 0.1  # how soon a signal ends a wait (select cannot see the stop event)

TRY_SQL = "select pg_try_advisory_lock(%s), pg_backend_pid()"
RELEASE_SQL = f"select pg_advisory_unlock(%s), pg_notify('{CHANNEL}', %s)"
# Who holds a key (classid, objid).
HOLDERS_SQL = """
    select a.pid, a.application_name, a.backend_start, a.query_start, a.state
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted
      and l.database = (select oid from pg_database where datname = current_database())
      and l.classid::bigint = %s and l.objid::bigint = %s and l.objsubid = 1
"""
_HELD_HERE_SQL = """
    select pg_backend_pid(), exists(
        select 1 from pg_locks
        where locktype = 'advisory' and granted and pid = pg_backend_pid()
          and classid::bigint = %s and objid::bigint = %s and objsubid = 1
    )
"""


def lock_key(version_table: str, schema: str | None) -> int:
    """A stable signed 64-bit key per (schema, version table); advisory locks are per database."""
    digest = hashlib.sha256(f"migrator:{schema or 'public'}.{version_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def key_for(configured: int | None, version_table: str, schema: str | None) -> int:
    """MIGRATOR_LOCK_KEY when set, else the key derived from the version table."""
    return configured if configured is not None else lock_key(version_table, schema)


def key_parts(key: int) -> tuple[int, int]:
    """How pg_locks shows a bigint key: (classid, objid), the high and low 32 bits."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


class Holder(NamedTuple):
    pid: int
    application_name: str
    since: str | None
    query_start: str | None
    state: str | None


def holders_from_rows(rows: Iterable[Sequence[Any]]) -> list[Holder]:
    return [
        Holder(int(pid), application_name or "", _iso(since), _iso(query_start), state)
        for pid, application_name, since, query_start, state in rows
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def waiting_fields(found: list[Holder]) -> dict[str, Any]:
    """What `lock.waiting` says about the holder."""
    first = found[0] if found else None
    return {
        "holder_pid": first.pid if first else None,
        "holder_application_name": first.application_name if first else None,
        "holder_since": first.since if first else None,
        "holder_query_start": first.query_start if first else None,
    }


def timeout_error(key: int, timeout: float, found: list[Holder]) -> LockTimeout:
    if found:
        h = found[0]
        holder = f"pid {h.pid} (application_name={h.application_name!r}, connected since {h.since})"
    else:
        holder = "a session that has since gone"
    return LockTimeout(
        f"migration lock {key} not acquired within {timeout:g}s; held by {holder}",
        hint="another migration is still running; wait for it or raise --lock-timeout "
        "(a stuck holder can be ended with pg_terminate_backend(pid))",
    )


def holders(conn: Any, key: int) -> list[Holder]:
    with conn.cursor() as cursor:
        cursor.execute(HOLDERS_SQL, key_parts(key))
        return holders_from_rows(cursor.fetchall())


def acquire(
    conn: Any,
    key: int,
    timeout: float,
    stop: Stop,
    emitter: Emitter,
    done: Callable[[], bool] | None = None,
) -> int | None:
    """Take the lock on ``conn`` (autocommit) and return the backend pid that holds it.

    While another session holds it, wait without a transaction; ``done()`` is asked after
    each failed try and ends the wait with None when waiting has become pointless (the
    holder brought the database to head).
    """
    started = time.monotonic()
    deadline = started + timeout
    next_report, listening = started, False
    try:
        while True:
            with conn.cursor() as cursor:
                cursor.execute(TRY_SQL, (key,))
                got, pid = cursor.fetchone()
            if got:
                return int(pid)
            if done is not None and done():
                return None
            if not listening:  # listen, then try again: an unlock between the two is not missed
                _execute(conn, f"listen {CHANNEL}")
                listening = True
                continue
            now = time.monotonic()
            if now >= deadline:
                raise timeout_error(key, timeout, holders(conn, key))
            if now >= next_report:
                waited = round(now - started, 1)
                emitter.emit("lock.waiting", lock_key=key, waited_s=waited, **waiting_fields(holders(conn, key)))
                next_report = now + REPORT_EVERY
            _wait_for_unlock(conn, key, min(RETRY_EVERY, deadline - now, next_report - now), stop)
            stop.raise_if_stopped()
    finally:
        if listening and not conn.closed:
            _execute(conn, f"unlisten {CHANNEL}")


def _wait_for_unlock(conn: Any, key: int, seconds: float, stop: Stop) -> None:
    """Sleep on the connection's socket until a holder announces an unlock of ``key``, or ``seconds`` pass."""
    end = time.monotonic() + max(0.0, seconds)
    while not stop.stopped:
        remaining = end - time.monotonic()
        if remaining <= 0:
            return
        readable, _, _ = select.select([conn], [], [], min(_POLL_SLICE, remaining))
        if readable:
            conn.poll()
            announced = [n for n in conn.notifies if n.channel == CHANNEL]
            conn.notifies.clear()
            if any(n.payload == str(key) for n in announced):
                return


def release(conn: Any, key: int, emitter: Emitter) -> None:
    """Let go and tell the waiters at once; closing the connection would release it too."""
    psycopg2 = pg.driver()
    try:
        if not conn.autocommit:
            conn.rollback()
            conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(RELEASE_SQL, (key, str(key)))
        emitter.emit("lock.released", lock_key=key)
    except psycopg2.Error as exc:
        emitter.emit("lock.released", lock_key=key, via="connection close", reason=type(exc).__name__)


def verify_held(conn: Any, key: int, acquired_by: int, url: DatabaseUrl) -> None:
    """Refuse when the lock is not bound to a backend of our own (a transaction pooler).

    Behind a transaction-pooling proxy (PgBouncer) each transaction may run on another
    server session, and server sessions are shared between clients, so a session lock
    taken in one protects nothing. Two symptoms, either is enough: our next transaction
    runs on another backend or does not see the lock, or another client connection is
    served by the backend that took it.
    """
    with conn.cursor() as cursor:
        cursor.execute(_HELD_HERE_SQL, key_parts(key))
        current_pid, held = cursor.fetchone()
    other = _other_client_pid(url)
    if not is_lock_ours(acquired_by, int(current_pid), bool(held), other):
        raise LockNotHeld(
            f"the advisory lock taken by backend pid {acquired_by} is not bound to this connection "
            f"(next transaction on backend {current_pid}, lock seen there: {bool(held)}; another client "
            f"was served by backend {other}): a transaction-pooling proxy such as PgBouncer is between "
            "migrator and PostgreSQL, and a session lock behind it protects nothing",
            hint="point migrator at PostgreSQL directly or at a session-pooling port",
        )


def is_lock_ours(acquired_by: int, current_pid: int, held_by_current: bool, other_client_pid: int) -> bool:
    """The lock holder is our own backend and no other client shares it."""
    return acquired_by == current_pid and held_by_current and other_client_pid != acquired_by


def _other_client_pid(url: DatabaseUrl) -> int:
    """The backend pid serving a second, short-lived client connection."""
    psycopg2 = pg.driver()
    other = psycopg2.connect(connect_timeout="10", **pg.params(url))
    try:
        return pg.backend_pid(other)
    finally:
        other.close()


def _execute(conn: Any, statement: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute(statement)
