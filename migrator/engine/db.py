"""SQLAlchemy over the core's connection: the URL for Alembic, the adopting engine, error text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool, StaticPool

from migrator.core import pg, state, urls
from migrator.core.session import Session

_DRIVER = "postgresql+psycopg2"


def sqlalchemy_url(url: urls.DatabaseUrl) -> URL:
    """The validated URL for SQLAlchemy, the psycopg2 driver pinned (core/urls.py made the rules)."""
    return URL.create(
        _DRIVER,
        username=url.user,
        password=url.password,
        host=url.host,
        port=url.port,
        database=url.database,
        query=dict(url.query),
    )


def normalise_url(raw: str | None) -> URL:
    """Parse and validate a URL as people write it (ConfigError, exit 2, when unusable)."""
    return sqlalchemy_url(urls.parse(raw))


def query(conn: Any) -> state.Query:
    """core/state.py's reader on a SQLAlchemy connection (in the caller's transaction)."""

    def run(statement: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(conn.exec_driver_sql(statement, params).one())

    return run


def display(url: URL) -> str:
    """The URL with its password masked, for logs and messages."""
    return url.render_as_string(hide_password=True)


def provide_passwords(session: Session) -> None:
    """Every SQLAlchemy connection this process opens to the run's server as the run's user (the
    watcher's, verify's scratch database, env.py's own engine) gets that attempt's password from the
    run's credentials (core/credentials.py): a short-lived token is fetched per connection, as the
    core does for its own. Connections elsewhere are left as they are."""
    source = session.credentials
    if not source.changes or session.settings.database_url is None:
        return
    ours = urls.parse(session.settings.database_url)

    def fresh(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        same_port = str(params.get("port") or 5432) == str(ours.port or 5432)
        if params.get("host") == ours.host and same_port and params.get("user") == ours.user:
            password = source.now()
            if password is not None:
                params["password"] = password

    event.listen(Engine, "do_connect", fresh)


def make_engine(url: URL) -> Engine:
    """An engine without a pool, for a helper connection (blocker watch, scratch database)."""
    connect_args: dict[str, object] = {**pg.KEEPALIVES, "connect_timeout": 10}
    if "application_name" not in url.query:
        connect_args["application_name"] = pg.APPLICATION_NAME
    return create_engine(url, poolclass=NullPool, connect_args=connect_args, hide_parameters=True)


def adopt(url: URL, dbapi_connection: Any) -> Engine:
    """An engine over the connection the core opened (and may hold the lock on).

    Its pool keeps that one connection: closing a SQLAlchemy connection rolls back and
    hands it back, open, so the core can release the lock and notify the waiters on it.
    Never dispose of this engine; the session closes the connection.
    """
    return create_engine(url, creator=lambda: dbapi_connection, poolclass=StaticPool, hide_parameters=True)


def error_text(exc: BaseException) -> str:
    """The driver's own message, first line, without SQLAlchemy's boilerplate."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return pg.message_of(original)


@contextmanager
def translated_connection_errors() -> Iterator[None]:
    """A connection lost outside a migration (before, between or after): exit 3, never a crash."""
    psycopg2 = pg.driver()
    try:
        yield
    except DBAPIError as exc:
        if not (
            exc.connection_invalidated or isinstance(exc.orig, (psycopg2.OperationalError, psycopg2.InterfaceError))
        ):
            raise
        raise pg.connection_lost(error_text(exc)) from exc
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        raise pg.connection_lost(pg.message_of(exc)) from exc


@contextmanager
def connection(session: Session) -> Iterator[Connection]:
    """SQLAlchemy over the session's connection (opened by the core if it is not yet);
    statements on it are cancelled by a signal; a lost connection is exit 3."""
    with translated_connection_errors():
        raw = session.connect()
        raw.autocommit = False  # SQLAlchemy demarcates the transactions from here on
        engine = adopt(normalise_url(session.settings.database_url), raw)
        conn = engine.connect()
    session.stop.set_cancel(raw.cancel)
    try:
        with translated_connection_errors():
            yield conn
    finally:
        session.stop.set_cancel(None)
        conn.close()  # rolls back; the connection stays open for the lock's release (adopt)
