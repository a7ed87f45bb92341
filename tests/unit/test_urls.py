"""Database URLs: one set of rules for every command (core/urls.py)."""

from __future__ import annotations

import pytest

from migrator.core.errors import ConfigError, ExitCode
from migrator.core.urls import parse

SECRET = "s3cr#t?pw"


@pytest.mark.parametrize(
    "raw",
    [
        "postgres://app:s3cret@db.internal:5433/orders",
        "postgresql://app:s3cret@db.internal:5433/orders",
        "postgresql+psycopg2://app:s3cret@db.internal:5433/orders",
    ],
)
def test_every_postgresql_spelling_gives_the_same_parts(raw: str) -> None:
    """postgres://, postgresql:// and postgresql+psycopg2:// all name the same thing."""
    url = parse(raw)
    assert url.libpq_params() == {
        "host": "db.internal",
        "port": "5433",
        "user": "app",
        "password": "s3cret",
        "dbname": "orders",
    }


def test_a_percent_encoded_password_reaches_libpq_decoded() -> None:
    """Reserved characters, percent-encoded, arrive as the characters themselves."""
    assert parse("postgresql://app:p%40ss%3Aw%2Frd%25%24%5C@db/orders").password == "p@ss:w/rd%$\\"


def test_query_parameters_pass_through_to_libpq() -> None:
    """Options such as sslmode and application_name reach libpq as they were written."""
    params = parse("postgres://app:pw@db/orders?sslmode=require&application_name=job").libpq_params()
    assert (params["sslmode"], params["application_name"]) == ("require", "job")


def test_an_ipv6_host_and_a_unix_socket_directory_are_understood() -> None:
    """[::1]:5432 is a host and a port; a percent-encoded path is a socket directory."""
    assert (parse("postgresql://u:pw@[::1]:5433/db").host, parse("postgresql://u:pw@[::1]:5433/db").port) == (
        "::1",
        5433,
    )
    assert parse("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db").host == "/var/run/postgresql"


def test_display_masks_the_password() -> None:
    """What logs and messages show of a URL."""
    assert parse("postgresql://app:s3cret@db:5432/orders?sslmode=require").display() == (
        "postgresql://app:***@db:5432/orders?sslmode=require"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "no database URL given"),
        ("", "no database URL given"),
        ("mysql://app:s3cret@db/orders", "unsupported database URL scheme 'mysql' in mysql://app:***@db/orders"),
        ("postgresql://app:s3cret@db", "database URL postgresql://app:***@db names no database"),
        ("postgresql://app:s3cret@db:5432/", "database URL postgresql://app:***@db:5432/ names no database"),
        (
            "postgresql://app:s3cret@db:five/orders",
            "malformed database URL postgresql://app:***@db:five/orders: the port must be a number from 1 to 65535",
        ),
        (
            "postgresql://app:s3cret@db:99999/orders",
            "malformed database URL postgresql://app:***@db:99999/orders: the port must be a number from 1 to 65535",
        ),
        ("postgresql://[::1", "malformed database URL postgresql://[::1: '[' without ']' around an IPv6 host"),
        (
            "postgresql://app:s3cret@[::1/orders",
            "malformed database URL postgresql://app:***@[::1/orders: '[' without ']' around an IPv6 host",
        ),
        ("db.internal:5432", "malformed database URL db.internal:5432"),
    ],
)
def test_unusable_urls_are_usage_errors_that_mask_the_password(raw: str | None, message: str) -> None:
    """Exit 2 at once, the message names the problem and shows no password."""
    with pytest.raises(ConfigError) as raised:
        parse(raw)
    assert (raised.value.exit_code, raised.value.message) == (ExitCode.USAGE, message)


@pytest.mark.parametrize("char", ["@", "?", "#", "\\", "$", "%", "/", " ", "[", "]"])
def test_a_raw_special_character_in_the_password_is_refused_without_showing_any_of_it(char: str) -> None:
    """The password must be percent-encoded; the refusal names what to do, and nothing of the password."""
    password = f"Pa{char}ssw0rd-long"
    with pytest.raises(ConfigError) as raised:
        parse(f"postgresql://app:{password}@127.0.0.1:5432/orders")
    error = raised.value
    assert error.exit_code == ExitCode.USAGE
    assert "percent-encode" in (error.hint or "")
    for fragment in ("Pa", "ssw0rd", password):
        assert fragment not in error.message + (error.hint or "")
