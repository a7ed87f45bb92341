"""Database URL normalisation, engine factory and connection error classification."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from migrator.core import pgerrors
from migrator.core.errors import ConfigError
from migrator.core.redact import mask_url, password_of

APPLICATION_NAME = "migrator"
CLIENT_CHECK_INTERVAL_MS = 1000
_DRIVER = "postgresql+psycopg2"
_ACCEPTED_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg2"}


def normalise_url(raw: str | None) -> URL:
    """Parse a URL as people write it and pin the psycopg2 driver."""
    if not raw:
        raise ConfigError(
            "no database URL given",
            hint="set --database-url, DATABASE_URL or DATABASE_URL_FILE",
        )
    if "@" in (password_of(raw) or ""):
        # SQLAlchemy would split at the first @ and take the rest of the password for the host.
        raise ConfigError(
            f"the password in database URL {mask_url(raw)} contains a raw '@'",
            hint="percent-encode special characters in the password ('@' as %40, '/' as %2F, '%' as %25)",
        )
    try:
        url = make_url(raw)
        _ = url.port  # a non-numeric port only fails when read
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"malformed database URL {mask_url(raw)}",
            hint="use postgresql://user:password@host:5432/dbname, percent-encoding special characters",
        ) from None
    if url.drivername not in _ACCEPTED_SCHEMES:
        raise ConfigError(
            f"unsupported database URL scheme {url.drivername!r} in {mask_url(raw)}",
            hint="migrator drives PostgreSQL through psycopg2: use postgresql://",
        )
    if not url.database:
        raise ConfigError(f"database URL {mask_url(raw)} names no database", hint="append /dbname")
    return url.set(drivername=_DRIVER)


def display(url: URL) -> str:
    """The URL with its password masked, for logs and messages."""
    return url.render_as_string(hide_password=True)


def make_engine(url: URL) -> Engine:
    """An engine without a pool: migrator holds one connection at a time."""
    connect_args: dict[str, object] = {
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "connect_timeout": 10,
    }
    if "application_name" not in url.query:
        connect_args["application_name"] = APPLICATION_NAME
    return create_engine(url, poolclass=NullPool, connect_args=connect_args, hide_parameters=True)


def connect(engine: Engine, timeout: float) -> Connection:
    """Open one connection, its TCP/auth handshake bounded by about ``timeout`` seconds."""
    # libpq counts connect_timeout in whole seconds and treats 1 as 2.
    seconds = max(2, min(10, math.ceil(timeout)))

    def set_timeout(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["connect_timeout"] = seconds

    event.listen(engine, "do_connect", set_timeout)
    try:
        return engine.connect()
    finally:
        event.remove(engine, "do_connect", set_timeout)


def backend_pid(url: URL) -> int:
    """The server pid behind a fresh client connection."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("select pg_backend_pid()").scalar_one())
    finally:
        engine.dispose()


def adopt(url: URL, dbapi_connection: Any) -> Engine:
    """An engine over a connection the fast path already opened (and may hold the lock on)."""
    return create_engine(url, creator=lambda: dbapi_connection, poolclass=NullPool, hide_parameters=True)


def watch_client(conn: Connection) -> None:
    """Ask the server to notice a vanished client during a long statement (PostgreSQL 14+).

    Without it, a runner killed with -9 in the middle of a long statement leaves its
    backend (and so the migration lock and transaction) alive until the statement ends.
    """
    try:
        conn.exec_driver_sql(f"set client_connection_check_interval = {CLIENT_CHECK_INTERVAL_MS}")
        conn.commit()
    except DBAPIError:  # older servers do not have the setting; nothing to do there
        conn.rollback()


def error_text(exc: BaseException) -> str:
    """The driver's own message, first line, without SQLAlchemy's boilerplate."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(original).strip().splitlines() if line.strip()]
    return " ".join(lines) if lines else type(original).__name__


def is_retryable(exc: BaseException) -> bool:
    """A connection error that may go away: refused, starting up, unreachable, timeout."""
    if not isinstance(exc, OperationalError):
        return False
    return not pgerrors.is_permanent(error_text(exc))
