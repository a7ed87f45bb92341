"""The backup command's environment (engine/backup.py): libpq's variables from the parsed connection string."""

from __future__ import annotations

from migrator.core.urls import parse
from migrator.engine.backup import environment, libpq_environment


def test_every_part_of_the_url_becomes_its_libpq_variable() -> None:
    """The query's dbname, host and port (libpq's rule: they win) and every option reach pg_dump."""
    url = parse(
        "postgresql://app:pw@ignored:1/ignored?dbname=orders&host=/var/run/postgresql&port=6432"
        "&sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=5&options=-c%20x%3D1"
        "&target_session_attrs=read-write&application_name=job"
    )
    assert libpq_environment(url) == (
        {
            "PGUSER": "app",
            "PGPASSWORD": "pw",
            "PGDATABASE": "orders",
            "PGHOST": "/var/run/postgresql",
            "PGPORT": "6432",
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": "/ca.pem",
            "PGCONNECT_TIMEOUT": "5",
            "PGOPTIONS": "-c x=1",
            "PGTARGETSESSIONATTRS": "read-write",
            "PGAPPNAME": "job",
        },
        [],
    )


def test_a_libpq_string_gives_the_same_environment() -> None:
    """key=value and the URL are one value, so one environment."""
    by_url = libpq_environment(parse("postgresql://app:pw@db:5433/orders?sslmode=require"))
    assert libpq_environment(parse("host=db port=5433 dbname=orders user=app password=pw sslmode=require")) == by_url


def test_parameters_without_a_variable_are_named_not_dropped_silently() -> None:
    """libpq reads sslpassword and keepalives from no variable: they are reported, not invented."""
    variables, unpassed = libpq_environment(parse("postgresql://u@db/orders?sslpassword=k&keepalives=0"))
    assert (variables, unpassed) == (
        {"PGUSER": "u", "PGDATABASE": "orders", "PGHOST": "db"},
        ["sslpassword", "keepalives"],
    )


def test_the_environment_is_the_inherited_one_with_the_connection_and_the_revisions() -> None:
    """The URL wins over inherited PG* variables; the revisions are added."""
    env = environment(parse("postgresql://u@db/orders"), {"PGDATABASE": "other", "HOME": "/root"}, "base", "head")
    assert env == {
        "PGDATABASE": "orders",
        "HOME": "/root",
        "PGUSER": "u",
        "PGHOST": "db",
        "MIGRATOR_FROM_REVISION": "base",
        "MIGRATOR_TARGET": "head",
    }
