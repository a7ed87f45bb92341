"""The light stage's reading of the database, and its one decision: at head with these files?

The full stage records, whenever it has found the database at head (Alembic's own answer),
the fingerprint of the revision files it loaded, Alembic's heads and the version table's rows
at that moment, in ``migrator_state``. A later run whose files hash to the same fingerprint
and whose version table holds the same rows would get the same answer from the full stage:
nothing to do. Anything else, however small, goes to the full stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATE_TABLE = "migrator_state"


@dataclass(frozen=True)
class Recorded:
    fingerprint: str
    heads: tuple[str, ...]
    head_rows: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """What the light stage knows of the database: the version rows (None: no version table)
    and what the full stage recorded for this version table (None: nothing yet)."""

    version_rows: tuple[str, ...] | None
    recorded: Recorded | None


def qualified(table: str, schema: str | None) -> str:
    """The key a version table is recorded under."""
    return f"{schema}.{table}" if schema else table


def read(conn: Any, table: str, schema: str | None) -> Facts:
    """Two round trips on an autocommit psycopg2 connection: which tables exist, then their rows."""
    from psycopg2 import sql  # type: ignore[import-untyped]  # loaded with psycopg2 by core/pg.py

    version = sql.Identifier(schema, table) if schema else sql.Identifier(table)
    state = sql.Identifier(schema, STATE_TABLE) if schema else sql.Identifier(STATE_TABLE)
    with conn.cursor() as cursor:
        cursor.execute(
            "select to_regclass(%s) is not null, to_regclass(%s) is not null",
            (version.as_string(conn), state.as_string(conn)),
        )
        has_version, has_state = cursor.fetchone()
        if not has_version:
            return Facts(None, None)
        rows_sql = sql.SQL("select array(select version_num::text from {})").format(version)
        if not has_state:
            cursor.execute(rows_sql)
            return Facts(tuple(cursor.fetchone()[0]), None)
        cursor.execute(
            sql.SQL(
                "select array(select version_num::text from {}), s.fingerprint, s.heads, s.head_rows "
                "from (select 1) as one left join {} as s on s.version_table = %s"
            ).format(version, state),
            (qualified(table, schema),),
        )
        rows, fingerprint, heads, head_rows = cursor.fetchone()
    recorded = Recorded(fingerprint, tuple(heads), tuple(head_rows)) if fingerprint else None
    return Facts(tuple(rows), recorded)


def at_head(facts: Facts, fingerprint: str, target: str) -> bool:
    """The full stage's answer, known without it: same files, same version rows as when it found head.

    ``head`` (the default target) needs a single head, as the full stage's upgrade does.
    """
    recorded = facts.recorded
    if recorded is None or facts.version_rows is None or recorded.fingerprint != fingerprint:
        return False
    if target == "head" and len(recorded.heads) != 1:
        return False
    return sorted(facts.version_rows) == sorted(recorded.head_rows)
