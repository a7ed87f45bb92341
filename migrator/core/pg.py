"""THE connection to PostgreSQL: psycopg2 alone, retried until the database answers.

Every command opens its one connection here; the engine adopts it when there is work.
The wait is core/retry.py's one policy (tenacity's composition, imported only once the first
attempt has failed, so a no-op run whose database answers never pays its ~25 ms): retry only
what may pass, stop at a deadline or a signal, back off exponentially with jitter and a low cap
(a database that just became ready is noticed within ~60 ms), re-raise as DatabaseUnavailable
naming the last error. ``db.waiting`` says each retry (at debug; at info every few seconds),
``db.ready`` how many attempts it took.

Each attempt's connect_timeout is the URL's when it names one (it is passed as written: the
operator knows the network), else derived from the time left before the deadline.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from migrator.core import retry
from migrator.core.errors import DatabaseUnavailable
from migrator.core.events import Emitter
from migrator.core.signals import Stop
from migrator.core.urls import DatabaseUrl

T = TypeVar("T")
APPLICATION_NAME = "migrator"
CLIENT_CHECK_INTERVAL_MS = 1000
SUMMARY_EVERY = 5.0
# From 20 ms to 50 ms, plus up to 10 ms: cheap against a refusing server, quick to notice a ready one.
DATABASE_BACKOFF = retry.Backoff(first=0.02, cap=0.05, jitter=0.01)
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3"}
# libpq messages of errors that retrying cannot fix.
_PERMANENT_MARKERS = (
    "password authentication failed",
    "authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "invalid dsn",
    "invalid connection option",
    "invalid integer value",
    "invalid sslmode",
    "permission denied",
    "no password supplied",
    "server does not support ssl",
)


def is_permanent(message: str) -> bool:
    """A connection error that retrying cannot fix (bad password, unknown database, ...)."""
    lowered = message.lower()
    return any(marker in lowered for marker in _PERMANENT_MARKERS)


def message_of(exc: BaseException) -> str:
    """The driver's message on one line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return " ".join(lines) if lines else type(exc).__name__


def may_pass(exc: BaseException) -> bool:
    """Worth another attempt: not an error that comes back the same every time."""
    return not is_permanent(message_of(exc))


def wait_policy(retry_on: type[BaseException], timeout: float) -> retry.Policy:
    """The database wait: ``retry_on`` errors that may pass, for ``timeout`` seconds (0: one attempt)."""
    return retry.Policy(retry_on, DATABASE_BACKOFF, timeout=max(0.0, timeout), retryable=may_pass)


def driver() -> Any:
    """psycopg2, without loading Python's ``ssl`` module on the way (a tenth of a no-op run).

    psycopg2 imports ``ssl`` only to install OpenSSL 1.0's locking callbacks and, when it
    cannot, leaves locking to libpq (psycopgmodule.c, libcrypto_threads_init). OpenSSL 1.1
    and later, which Python 3.11 and every psycopg2-binary wheel use, lock by themselves.
    """
    if "psycopg2" not in sys.modules and "ssl" not in sys.modules:
        sys.modules["ssl"] = None  # type: ignore[assignment]  # makes `import ssl` fail at once
        try:
            import psycopg2  # type: ignore[import-untyped]
        finally:
            del sys.modules["ssl"]
    import psycopg2

    return psycopg2


def params(url: DatabaseUrl) -> dict[str, str]:
    """libpq's parameters for every connection migrator opens: keepalives, its application_name
    unless the URL names one, and the URL's own parts, but not connect_timeout: each caller
    passes that once, from connect_timeout()."""
    found = {**KEEPALIVES, **url.libpq_params()}
    found.setdefault("application_name", APPLICATION_NAME)
    found.pop("connect_timeout", None)
    return found


def connect_timeout(url: DatabaseUrl, remaining: float) -> str:
    """The URL's connect_timeout when it names one, else the seconds left (libpq counts whole
    seconds and treats 1 as 2), from 2 to 10."""
    given = url.libpq_params().get("connect_timeout")
    return given if given else str(max(2, min(10, int(remaining) + 1)))


def connection_lost(message: str) -> DatabaseUnavailable:
    """A connection that went away outside a migration: exit 3, which a Job retries."""
    return DatabaseUnavailable(
        f"lost the database connection: {message}",
        hint="nothing more was done; check the state with `migrator current` and run again once it is back",
    )


def connect(
    url: DatabaseUrl,
    timeout: float,
    stop: Stop,
    emitter: Emitter,
    fresh: Callable[[DatabaseUrl], DatabaseUrl] | None = None,
) -> Any:
    """An autocommit psycopg2 connection once the database answers; DatabaseUnavailable otherwise.
    ``fresh``: the URL for each attempt (a short-lived password, core/credentials.py)."""
    psycopg2 = driver()
    options = params(url)

    def once(remaining: float) -> Any:
        given = params(fresh(url)) if fresh is not None else options
        conn = psycopg2.connect(connect_timeout=connect_timeout(url, remaining), **given)
        conn.autocommit = True
        return conn

    conn = wait_for(once, wait_policy(psycopg2.OperationalError, timeout), stop, emitter, url.display())
    _watch_client(conn)
    return conn


def wait_for(
    attempt: Callable[[float], T],
    policy: retry.Policy,
    stop: Stop,
    emitter: Emitter,
    target: str,
    timing: retry.Timing = retry.DEFAULT_TIMING,
) -> T:
    """Call ``attempt(remaining_seconds)`` until it succeeds, the deadline passes or a signal comes."""
    attempts, next_summary = 0, 0.0

    def counted(remaining: float) -> T:
        nonlocal attempts
        attempts += 1
        return attempt(remaining)

    def waiting(failed: retry.Retry) -> None:
        nonlocal next_summary
        message = message_of(failed.error)
        emitter.emit(
            "db.waiting", level="debug", attempt=failed.attempt, delay_ms=round(failed.delay * 1000), error=message
        )
        if failed.waited >= next_summary:
            emitter.emit("db.waiting", attempt=failed.attempt, waited_s=round(failed.waited, 1), error=message)
            next_summary = failed.waited + SUMMARY_EVERY

    started = timing.clock()
    try:
        result = retry.call(counted, policy, stop, waiting, timing)
    except retry.GaveUp as gave_up:
        raise DatabaseUnavailable(
            f"database {target} not reachable within {policy.timeout or 0:g}s ({gave_up.attempts} attempts): "
            f"{message_of(gave_up.error)}",
            hint="check that the server is up and reachable, or raise --wait-timeout",
        ) from None
    except policy.retry_on as exc:  # permanent: not retried
        raise DatabaseUnavailable(
            f"cannot connect to {target}: {message_of(exc)}",
            hint="retrying cannot fix this: check the user, password and database name in the URL",
        ) from None
    emitter.emit("db.ready", attempts=attempts, waited_ms=round((timing.clock() - started) * 1000))
    return result


def _watch_client(conn: Any) -> None:
    """Ask the server to notice a vanished client during a long statement (PostgreSQL 14+).

    Without it, a runner killed with -9 in the middle of a long statement leaves its
    backend (and so the migration lock and transaction) alive until the statement ends.
    """
    psycopg2 = driver()
    interval = f"{CLIENT_CHECK_INTERVAL_MS}ms"
    try:
        with conn.cursor() as cursor:
            cursor.execute("select set_config('client_connection_check_interval', %s, false)", (interval,))
    except psycopg2.Error:  # older servers do not have the setting; nothing to do there
        pass


def backend_pid(conn: Any) -> int:
    with conn.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        return int(cursor.fetchone()[0])
