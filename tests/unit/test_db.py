"""Database URL normalisation and classification of connection errors."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from migrator.core.errors import ConfigError, ExitCode
from migrator.engine.db import error_text, is_retryable, normalise_url


def connection_error(message: str) -> OperationalError:
    """What engine.connect() raises: SQLAlchemy's wrapper around the driver's error."""
    return OperationalError(None, None, psycopg2.OperationalError(message))


@pytest.mark.parametrize(
    "raw",
    [
        "postgres://app:s3cret@db.internal:5433/orders",
        "postgresql://app:s3cret@db.internal:5433/orders",
        "postgresql+psycopg2://app:s3cret@db.internal:5433/orders",
    ],
)
def test_normalise_url_pins_the_psycopg2_driver(raw: str) -> None:
    """Every spelling of PostgreSQL people use becomes postgresql+psycopg2, the rest kept."""
    url = normalise_url(raw)
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg2",
        "app",
        "s3cret",
        "db.internal",
        5433,
        "orders",
    )


def test_normalise_url_decodes_a_percent_encoded_password() -> None:
    """A password with reserved characters, percent-encoded, reaches the driver decoded."""
    url = normalise_url("postgresql://app:p%40ss%3Aw%2Frd%25@db/orders")
    assert url.password == "p@ss:w/rd%"


def test_normalise_url_keeps_query_parameters() -> None:
    """Options such as sslmode survive normalisation."""
    url = normalise_url("postgres://app:pw@db/orders?sslmode=require&application_name=job")
    assert dict(url.query) == {"sslmode": "require", "application_name": "job"}


def test_normalise_url_never_splits_a_raw_at_sign_between_password_and_host() -> None:
    """A raw @ in the password is refused (SQLAlchemy would take part of it for the host)."""
    with pytest.raises(ConfigError) as raised:
        normalise_url("postgresql://u:p@ss@host/db")
    assert raised.value.message == "the password in database URL postgresql://u:***@host/db contains a raw '@'"
    assert "%40" in (raised.value.hint or "")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "no database URL given"),
        ("", "no database URL given"),
        ("mysql://app:s3cret@db/orders", "unsupported database URL scheme 'mysql' in mysql://app:***@db/orders"),
        (
            "postgresql+psycopg://app:s3cret@db/orders",
            "unsupported database URL scheme 'postgresql+psycopg' in postgresql+psycopg://app:***@db/orders",
        ),
        ("postgresql://app:s3cret@db", "database URL postgresql://app:***@db names no database"),
        ("postgresql://app:s3cret@db:5432/", "database URL postgresql://app:***@db:5432/ names no database"),
        ("postgresql://app:s3cret@db:five/orders", "malformed database URL postgresql://app:***@db:five/orders"),
        (
            "postgresql://app:s3c@r:e/t@db:5432/orders",
            "the password in database URL postgresql://app:***@db:5432/orders contains a raw '@'",
        ),
        ("db.internal:5432", "malformed database URL db.internal:5432"),
    ],
)
def test_normalise_url_rejects_what_it_cannot_use_without_showing_the_password(raw: str | None, message: str) -> None:
    """Unusable URLs are usage errors (exit 2) whose message masks the password."""
    with pytest.raises(ConfigError) as raised:
        normalise_url(raw)
    assert (raised.value.exit_code, raised.value.message) == (ExitCode.USAGE, message)


def test_normalise_url_masks_a_password_holding_a_quote_in_its_error() -> None:
    """A quote in the password does not let it into the malformed-URL message."""
    with pytest.raises(ConfigError) as raised:
        normalise_url("postgresql://app:it's1@db:five/orders")
    assert raised.value.message == "malformed database URL postgresql://app:***@db:five/orders"


@pytest.mark.parametrize(
    "message",
    [
        'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n",
        'connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  the database system is starting up\n',
        "FATAL:  the database system is shutting down\n",
        "FATAL:  sorry, too many clients already\n",
        'could not translate host name "db" to address: Temporary failure in name resolution\n',
        'connection to server at "db" (10.0.0.5), port 5432 failed: timeout expired\n',
        "server closed the connection unexpectedly\n",
    ],
)
def test_transient_connection_errors_are_retryable(message: str) -> None:
    """Refused, starting up, unresolvable or timed-out connections may succeed on a later attempt."""
    assert is_retryable(connection_error(message)) is True


@pytest.mark.parametrize(
    "message",
    [
        'connection to server at "db" (10.0.0.5), port 5432 failed: '
        'FATAL:  password authentication failed for user "x"\n',
        'FATAL:  database "x" does not exist\n',
        'FATAL:  role "x" does not exist\n',
        'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "x", database "x", no encryption\n',
        'FATAL:  permission denied for database "x"\n',
        "fe_sendauth: no password supplied\n",
        'invalid sslmode value: "sometimes"\n',
    ],
)
def test_permanent_connection_errors_are_not_retryable(message: str) -> None:
    """Errors that come back the same on every attempt fail at once."""
    assert is_retryable(connection_error(message)) is False


@pytest.mark.parametrize(
    "error",
    [
        psycopg2.OperationalError("Connection refused"),
        ProgrammingError("select 1", None, psycopg2.ProgrammingError("Connection refused")),
        ConnectionRefusedError("Connection refused"),
        TimeoutError(),
    ],
)
def test_errors_other_than_sqlalchemy_operational_error_are_not_retryable(error: BaseException) -> None:
    """Only what engine.connect() raises for a failed connection is retried."""
    assert is_retryable(error) is False


def test_error_text_is_the_driver_message_on_one_line() -> None:
    """SQLAlchemy's prefix and background link are dropped; the driver's lines are joined."""
    error = connection_error(
        'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
    )
    assert error_text(error) == (
        'connection to server at "127.0.0.1", port 1 failed: Connection refused '
        "Is the server running on that host and accepting TCP/IP connections?"
    )


def test_error_text_of_a_plain_exception_is_its_message() -> None:
    """Exceptions that are not driver errors give their own message, stripped."""
    assert error_text(ValueError("  bad\n  value \n")) == "bad value"


def test_error_text_of_an_exception_without_message_is_its_type() -> None:
    """An empty message still yields something to log."""
    assert error_text(TimeoutError()) == "TimeoutError"
