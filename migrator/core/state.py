"""The one reader of the database's state, for the light stage and the full stage alike.

What it reads: the version table's rows (None: no version table), the application's other
tables when there is no version table (to refuse a database built without migrations), and
what the full stage recorded in ``migrator_state`` when it last found the database at head:
the fingerprint of the revision files it loaded, Alembic's heads and the version rows then.

The reader runs on whatever executes SQL: a psycopg2 cursor in the light stage
(:func:`cursor_query`), the SQLAlchemy connection in the engine. Two round trips at most.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from migrator.core.checksums import HISTORY_TABLE
from migrator.core.errors import ConfigError

STATE_TABLE = "migrator_state"
OWN_TABLES = frozenset({HISTORY_TABLE, STATE_TABLE})

Query = Callable[[str, tuple[Any, ...]], tuple[Any, ...]]  # one statement, its one row


class Recorded(NamedTuple):
    fingerprint: str
    heads: tuple[str, ...]
    head_rows: tuple[str, ...]


class Facts(NamedTuple):
    """The database as read: version rows (None: no version table), the application's tables
    (read only when there is no version table) and the full stage's record (None: nothing yet)."""

    version_rows: tuple[str, ...] | None
    other_tables: tuple[str, ...] = ()
    recorded: Recorded | None = None

    @property
    def has_version_table(self) -> bool:
        return self.version_rows is not None

    @property
    def current(self) -> tuple[str, ...]:
        return self.version_rows or ()


def qualified(table: str, schema: str | None) -> str:
    """The key a version table is recorded under."""
    return f"{schema}.{table}" if schema else table


def quote(name: str) -> str:
    """A PostgreSQL identifier, quoted as psycopg2.sql.Identifier quotes it: whatever ``name`` holds
    (a ``"``, a ``;``, spaces) is part of the name, never SQL. THE quoting of every identifier from
    configuration (the version table, its schema, migrator's own tables beside it)."""
    return '"' + name.replace('"', '""') + '"'


def sql_name(table: str, schema: str | None) -> str:
    """``table`` in ``schema`` (the search path's first schema without one) as SQL, e.g. for to_regclass()."""
    return f"{quote(schema)}.{quote(table)}" if schema else quote(table)


def statement_name(table: str, schema: str | None) -> str:
    """:func:`sql_name` as it goes into the text of a statement: migrator runs every statement through
    psycopg2 with parameters (SQLAlchemy's exec_driver_sql always passes some), where ``%`` starts one."""
    return sql_name(table, schema).replace("%", "%%")


def identifier(option: str, value: str, where: str) -> str:
    """``value`` of the ``option`` (version_table, version_table_schema) when PostgreSQL can name
    something so; a NUL byte cannot be part of any identifier (nor of any SQL text)."""
    if "\x00" in value:
        raise ConfigError(
            f"{option} in {where} contains a NUL byte, which no PostgreSQL name can hold",
            hint=f"fix {option} in {where}",
        )
    return value


_PROBE = (
    "select to_regclass(%s) is not null, to_regclass(%s) is not null, "
    "case when to_regclass(%s) is null then array("
    "select c.relname::text from pg_catalog.pg_class as c "
    "where c.relnamespace = coalesce(to_regnamespace(%s), current_schema()::regnamespace) "
    "and c.relkind in ('r', 'p') order by 1) end"
)


def read(query: Query, table: str, schema: str | None) -> Facts:
    """Which tables exist (and, without a version table, which others there are); then the rows."""
    names = sql_name(table, schema), sql_name(STATE_TABLE, schema)
    has_version, has_state, tables = query(_PROBE, (*names, names[0], quote(schema) if schema else None))
    version, state = statement_name(table, schema), statement_name(STATE_TABLE, schema)
    if not has_version:
        return Facts(None, tuple(t for t in tables or () if t != table and t not in OWN_TABLES))
    if not has_state:
        (rows,) = query(f"select array(select version_num::text from {version})", ())
        return Facts(tuple(rows))
    rows, fingerprint, heads, head_rows = query(
        f"select array(select version_num::text from {version}), s.fingerprint, s.heads, s.head_rows "
        f"from (select 1) as one left join {state} as s on s.version_table = %s",
        (qualified(table, schema),),
    )
    recorded = Recorded(fingerprint, tuple(heads), tuple(head_rows)) if fingerprint else None
    return Facts(tuple(rows), (), recorded)


def cursor_query(conn: Any) -> Query:
    """:data:`Query` over a psycopg2 connection."""

    def query(statement: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            row: tuple[Any, ...] = cursor.fetchone()
            return row

    return query
