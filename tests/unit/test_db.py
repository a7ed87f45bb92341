"""SQLAlchemy's view of the validated URL, and driver error text."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy.exc import OperationalError

from migrator.core.errors import ConfigError, ExitCode
from migrator.engine.db import error_text, normalise_url


def connection_error(message: str) -> OperationalError:
    """What engine.connect() raises: SQLAlchemy's wrapper around the driver's error."""
    return OperationalError(None, None, psycopg2.OperationalError(message))


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


def test_sqlalchemy_gets_the_parts_core_validated_with_the_driver_pinned() -> None:
    """Every spelling becomes postgresql+psycopg2 with the same decoded parts."""
    url = normalise_url("postgres://app:p%40ss@db.internal:5433/orders?sslmode=require")
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database, dict(url.query)) == (
        "postgresql+psycopg2",
        "app",
        "p@ss",
        "db.internal",
        5433,
        "orders",
        {"sslmode": "require"},
    )


def test_a_malformed_url_is_refused_the_same_way_here() -> None:
    """The engine has no rules of its own: the core's ConfigError comes through."""
    with pytest.raises(ConfigError) as raised:
        normalise_url("postgresql://u:p@ss@host/db")
    assert raised.value.exit_code == ExitCode.USAGE
