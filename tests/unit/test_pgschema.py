"""What pg_catalog's rows become: readable types and indexes, bookkeeping tables left out."""

from __future__ import annotations

import pytest

from migrator.tools.pgschema import readable_index, readable_type, snapshot
from migrator.tools.schemadiff import Column, Snapshot, Table


@pytest.mark.parametrize(
    ("formatted", "readable"),
    [
        ("character varying(50)", "varchar(50)"),
        ("character varying", "varchar"),
        ("character varying(20)[]", "varchar(20)[]"),
        ("character(1)", "char(1)"),
        ("bit varying(8)", "varbit(8)"),
        ("timestamp without time zone", "timestamp"),
        ("timestamp(3) with time zone", "timestamptz(3)"),
        ("time without time zone", "time"),
        ("time(6) with time zone", "timetz(6)"),
        ("integer", "integer"),
        ("double precision", "double precision"),
        ("travelstyle", "travelstyle"),
        ("characteristics", "characteristics"),
        ('audit."character varying"', 'audit."character varying"'),
    ],
)
def test_readable_type_uses_the_names_people_write(formatted: str, readable: str) -> None:
    """format_type's SQL-standard spellings shortened; anything else as PostgreSQL prints it."""
    assert readable_type(formatted) == readable


def test_readable_index_keeps_what_the_index_is_without_names() -> None:
    """Method, columns, order, INCLUDE and WHERE stay; the index's and the table's names go."""
    assert readable_index("CREATE UNIQUE INDEX ix_users_email ON public.users USING btree (email)", True) == (
        "unique btree (email)"
    )
    definition = 'CREATE INDEX ix ON ONLY audit.events USING btree ("timestamp" DESC) INCLUDE (id) WHERE (ok IS TRUE)'
    assert readable_index(definition, False) == 'btree ("timestamp" DESC) INCLUDE (id) WHERE (ok IS TRUE)'


def test_snapshot_groups_rows_by_table_and_leaves_out_ignored_tables() -> None:
    """Bookkeeping tables (by bare name, in any schema) go with their indexes and constraints;
    a table without columns is still a table."""
    rows = {
        "columns": [
            ("users", "users", "id", "character varying", False, None),
            ("users", "users", "n", "integer", True, "0"),
            ("audit.alembic_version", "alembic_version", "version_num", "character varying(32)", False, None),
            ("empty", "empty", None, None, None, None),
        ],
        "indexes": [
            ("users", "users", "ix_n", False, "CREATE INDEX ix_n ON public.users USING btree (n)"),
            ("audit.alembic_version", "alembic_version", "ix_v", False, "CREATE INDEX ix_v ON audit.alembic_version"),
        ],
        "constraints": [
            ("users", "users", "users_pkey", "PRIMARY KEY (id)"),
            ("audit.alembic_version", "alembic_version", "alembic_version_pkc", "PRIMARY KEY (version_num)"),
        ],
        "enums": [("mood", ["HAPPY", "SAD"])],
    }
    assert snapshot(rows, {"alembic_version", "migrator_history"}) == Snapshot(
        tables={
            "users": Table(
                columns={"id": Column("varchar", False), "n": Column("integer", True, "0")},
                indexes={"ix_n": "btree (n)"},
                constraints={"users_pkey": "PRIMARY KEY (id)"},
            ),
            "empty": Table(),
        },
        enums={"mood": ("HAPPY", "SAD")},
    )
