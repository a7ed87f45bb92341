"""The migrator_history table: one row per revision applied, reverted or stamped."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from migrator import __version__
from migrator.core import checksums
from migrator.core.state import STATE_TABLE, Recorded, sql_name, statement_name

TABLE = checksums.HISTORY_TABLE


@dataclass(frozen=True)
class Row:
    revision: str
    direction: str  # upgrade | downgrade | stamp | baseline | accepted | preexisting
    checksum: str | None
    started_at: datetime | None
    duration_ms: int | None
    success: bool


# The schema comes from alembic.ini: quoted by core/state.py, whatever it holds. Statements naming the
# table run as psycopg2 statements (exec_driver_sql), not text(), whose ``:name`` parsing a ``:`` in the
# schema's name would trip.
def _name(schema: str | None) -> str:
    return statement_name(TABLE, schema)


def exists(conn: Connection, schema: str | None) -> bool:
    found = conn.execute(text("select to_regclass(:name) is not null"), {"name": sql_name(TABLE, schema)})
    return bool(found.scalar_one())


def ensure(conn: Connection, schema: str | None) -> bool:
    """Create the table when missing (in the caller's transaction); True if it was created."""
    if exists(conn, schema):
        return False
    conn.exec_driver_sql(
        f"""
            create table {_name(schema)} (
                id bigserial primary key,
                run_id text not null,
                revision text not null,
                direction text not null,
                checksum text,
                started_at timestamptz,
                duration_ms integer,
                success boolean not null,
                host text not null,
                migrator_version text not null,
                db_user text not null default current_user,
                recorded_at timestamptz not null default now()
            )
            """
    )
    return True


# One statement for any number of rows: each column travels as one array, psycopg2 adapting it in C
# (SQLAlchemy's batched INSERT processes every row's parameters in Python: a long chain's cost).
_INSERT = """
    insert into {table}
        (run_id, revision, direction, checksum, started_at, duration_ms, success, host, migrator_version)
    select %s, revision, direction, checksum, started_at, duration_ms, success, %s, %s
    from unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::integer[], %s::boolean[])
        with ordinality as given(revision, direction, checksum, started_at, duration_ms, success, position)
    order by position
"""


def record(conn: Connection, schema: str | None, run_id: str, rows: Iterable[Row]) -> None:
    """Insert the rows in one statement (500 migrations must not mean 500 round trips), in their order."""
    given = list(rows)
    if not given:
        return
    columns = [
        [row.revision for row in given],
        [row.direction for row in given],
        [row.checksum for row in given],
        [row.started_at for row in given],
        [row.duration_ms for row in given],
        [row.success for row in given],
    ]
    conn.exec_driver_sql(_INSERT.format(table=_name(schema)), (run_id, socket.gethostname(), __version__, *columns))


def applied_checksums(conn: Connection, schema: str | None) -> dict[str, str]:
    """Checksum of every revision whose latest successful entry applied or stamped it."""
    if not exists(conn, schema):
        return {}
    rows = conn.exec_driver_sql(checksums.LATEST_ENTRIES_SQL.format(table=_name(schema))).all()
    return checksums.recorded((r.revision, r.direction, r.checksum) for r in rows)


@dataclass(frozen=True)
class Entry:
    """One row of migrator_history as shown to users."""

    started_at: datetime | None
    direction: str
    revision: str
    duration_ms: int | None
    success: bool
    checksum: str | None
    run_id: str
    db_user: str
    host: str
    migrator_version: str


_ENTRY_COLUMNS = (
    "started_at, direction, revision, duration_ms, success, checksum, run_id, db_user, host, migrator_version"
)
# What leaves a revision applied (a downgrade or a failure does not).
APPLYING = ("upgrade", "stamp", "baseline", "preexisting", "accepted")


def entries(conn: Connection, schema: str | None) -> list[Entry]:
    """Every entry, oldest first ([] without the table)."""
    if not exists(conn, schema):
        return []
    rows = conn.exec_driver_sql(f"select {_ENTRY_COLUMNS} from {_name(schema)} order by id").all()
    return [Entry(*row) for row in rows]


def latest_applying(all_entries: list[Entry]) -> dict[str, Entry]:
    """Per revision, the latest successful entry that applied, stamped or adopted it."""
    latest: dict[str, Entry] = {}
    for entry in all_entries:
        if entry.success and entry.direction in APPLYING and entry.direction != "accepted":
            latest[entry.revision] = entry
    return latest


def committed_in_run(conn: Connection, schema: str | None, run_id: str) -> list[str]:
    """Revisions this run applied or reverted and committed (their rows share the version change's transaction)."""
    if not exists(conn, schema):
        return []
    rows = conn.exec_driver_sql(
        f"select revision from {_name(schema)} where run_id = %(run_id)s and success "
        "and direction in ('upgrade', 'downgrade') order by id",
        {"run_id": run_id},
    ).all()
    return [r.revision for r in rows]


def record_head(conn: Connection, schema: str | None, version_table: str, head: Recorded, run_id: str) -> None:
    """What the light stage compares with (core/state.py): these files, these rows, at head."""
    name = statement_name(STATE_TABLE, schema)
    conn.exec_driver_sql(
        f"""
            create table if not exists {name} (
                version_table text primary key,
                fingerprint text not null,
                heads text[] not null,
                head_rows text[] not null,
                run_id text not null,
                recorded_at timestamptz not null default now()
            )
            """
    )
    conn.exec_driver_sql(
        f"insert into {name} (version_table, fingerprint, heads, head_rows, run_id) "
        "values (%(table)s, %(fingerprint)s, %(heads)s, %(rows)s, %(run_id)s) "
        "on conflict (version_table) do update set fingerprint = excluded.fingerprint, heads = excluded.heads, "
        "head_rows = excluded.head_rows, run_id = excluded.run_id, recorded_at = now()",
        {
            "table": version_table,
            "fingerprint": head.fingerprint,
            "heads": list(head.heads),
            "rows": list(head.head_rows),
            "run_id": run_id,
        },
    )
