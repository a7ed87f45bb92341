"""Online DDL helpers for revisions: schema changes that do not lock a busy table for long.

Call them from a revision's ``upgrade()``, in its normal flow (not inside an
``autocommit_block()`` of your own: each helper opens the one it needs)::

    from migrator.online import add_check_constraint, add_foreign_key, backfill
    from migrator.online import create_index_concurrently, set_not_null

    def upgrade():
        op.add_column("items", sa.Column("owner_id", sa.BigInteger()))
        backfill("items", "owner_id = legacy_owner", "owner_id IS NULL AND legacy_owner IS NOT NULL")
        create_index_concurrently("ix_items_owner_id", "items", ["owner_id"])
        add_foreign_key("fk_items_owner", "items", "owners", ["owner_id"], ["id"])

How they meet the migration's transaction (migrator's default: one transaction around every
pending migration; ``--transaction-per-migration``: one per migration). Every helper enters
Alembic's ``autocommit_block()`` once, whether or not the database still needs the change, so
its effect on the surrounding transaction never depends on the database's state:

* **it commits everything before it**, as Alembic documents for ``autocommit_block()``: the
  earlier revisions of the run (their version rows and ``migrator_history`` rows with them) and
  the statements of this revision that ran before the helper;
* its own slow part runs outside any transaction, statement by statement;
* what follows it runs in a new transaction, which a later failure rolls back.

A revision's version row is written only after its ``upgrade()`` returns, so after a failure
the rerun runs the whole revision again: statements before a helper must be safe to repeat
(or be in an earlier revision), and every helper is rerun-safe, picking up what the failed run
left behind:

``create_index_concurrently``
    ``CREATE INDEX CONCURRENTLY`` in the autocommit block. A build that fails (duplicates for a
    unique index, a cancel, a lock timeout) leaves an INVALID index: the rerun drops it
    (``DROP INDEX CONCURRENTLY``, events ``online.index_invalid_found`` / ``online.index_invalid_dropped``)
    and builds it again.
    A valid index of that name with the same definition is kept (``online.index_exists``); one
    with another definition is an error. Progress (``online.index_progress``) is read from
    ``pg_stat_progress_create_index`` on a second connection while the build runs.
``add_foreign_key`` / ``add_check_constraint``
    ``ADD CONSTRAINT … NOT VALID`` in the migration's transaction (a short lock; new rows are
    checked from then on), then ``VALIDATE CONSTRAINT`` in the autocommit block (it scans the
    table under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on). If validation fails
    (a row violates it), the NOT VALID constraint stays, committed: fix the data and rerun; an
    existing constraint of that name is validated if it is not yet, left alone if it is.
``set_not_null``
    ``CHECK (col IS NOT NULL) NOT VALID`` in the migration's transaction, then in the autocommit
    block: validate it, ``SET NOT NULL`` (PostgreSQL 12+ skips the table scan thanks to the valid
    check) and drop the check, each committed at once. A failure leaves the NOT VALID or valid
    check behind; the rerun validates it and goes on, or only drops it if the column is already
    NOT NULL.
``backfill``
    Batches in the autocommit block, each an UPDATE committed on its own, in key order
    (``online.backfill_batch`` after each). A failure or a signal leaves the batches done so
    far committed; ``where_sql`` must exclude the rows already done (``new_col IS NULL``), so the
    rerun starts with the first row not done and no row is updated twice.

Offline (``migrator sql``, ``upgrade --dry-run``, ``lint``) the helpers read no catalog and emit
the SQL a first run would (the autocommit block as ``COMMIT`` … ``BEGIN``), so squawk sees
``CONCURRENTLY``, ``NOT VALID`` and the validated check before ``SET NOT NULL``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

from migrator.core.signals import Stop
from migrator.engine import index_progress, logs
from migrator.engine.alembic_ops import STOP_ATTRIBUTE

__all__ = [
    "OnlineDDLError",
    "add_check_constraint",
    "add_foreign_key",
    "backfill",
    "create_index_concurrently",
    "set_not_null",
]

MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1
PROBE_TABLE = "migrator_online_probe"
PROBE_INDEX = "migrator_online_probe_index"


class OnlineDDLError(Exception):
    """The database holds something a helper must not paper over, or the helper was misused."""


# --- CREATE INDEX CONCURRENTLY ---------------------------------------------------------------


def create_index_concurrently(
    name: str,
    table: str,
    columns: Sequence[str | sa.TextClause],
    unique: bool = False,
    where: str | None = None,
    schema: str | None = None,
    **dialect_kw: Any,
) -> None:
    """Build an index without blocking writes, outside the migration's transaction (commits what came
    before). ``where`` makes a partial index; ``dialect_kw`` goes to ``op.create_index`` (e.g.
    ``postgresql_using="gin"``, ``postgresql_include=[...]``)."""
    if where is not None:
        dialect_kw["postgresql_where"] = sa.text(where)
    with _outside_transaction() as ctx:
        if ctx.as_sql:
            _create_index(name, table, columns, unique, schema, dialect_kw)
            return
        log = logs.get().bind(index=name, table=_display(table, schema))
        existing = _existing_index(ctx, name, table, schema)
        if existing is not None and existing.valid:
            wanted = _definition_of(ctx, table, schema, columns, unique, dialect_kw)
            if not existing.on_table or index_shape(existing.definition) != index_shape(wanted):
                raise OnlineDDLError(
                    f"index {name} already exists with another definition ({existing.definition}); "
                    "drop or rename it, or give the new index another name"
                )
            log.info("online.index_exists", reason="a valid index of that name and definition is already there")
            return
        if existing is not None:
            log.warning(
                "online.index_invalid_found",
                reason="an INVALID index of that name was left by an earlier build that failed: dropped, then rebuilt",
                definition=existing.definition,
            )
            op.drop_index(name, table_name=table, schema=schema, postgresql_concurrently=True)
            log.info("online.index_invalid_dropped")
        bind = op.get_bind()
        backend_pid = int(bind.exec_driver_sql("select pg_backend_pid()").scalar_one())
        log.info("online.index_building", unique=unique)
        started = time.monotonic()
        with index_progress.watching(bind.engine.url, backend_pid, name):
            _create_index(name, table, columns, unique, schema, dialect_kw)
        log.info("online.index_built", duration_ms=_ms_since(started))


def index_shape(definition: str) -> tuple[bool, str]:
    """What makes two ``pg_get_indexdef`` results the same index, whatever they are named or sit on:
    uniqueness, and everything from the access method on (keys, opclasses, INCLUDE, WHERE)."""
    return definition.startswith("CREATE UNIQUE INDEX "), definition.partition(" USING ")[2]


def _create_index(
    name: str,
    table: str,
    columns: Sequence[str | sa.TextClause],
    unique: bool,
    schema: str | None,
    dialect_kw: dict[str, Any],
) -> None:
    op.create_index(
        name, table, list(columns), unique=unique, schema=schema, postgresql_concurrently=True, **dialect_kw
    )


@dataclass(frozen=True)
class _Index:
    valid: bool
    on_table: bool
    definition: str


_INDEX = sa.text(
    """
    select i.indisvalid, i.indrelid = to_regclass(:table) as on_table, pg_get_indexdef(i.indexrelid)
    from pg_class c join pg_index i on i.indexrelid = c.oid
    where c.relname = :name and c.relnamespace = (select relnamespace from pg_class where oid = to_regclass(:table))
    """
)


def _existing_index(ctx: MigrationContext, name: str, table: str, schema: str | None) -> _Index | None:
    """The index of that name in the table's schema (index names are unique per schema)."""
    row = op.get_bind().execute(_INDEX, {"name": name, "table": _qualified(ctx, table, schema)}).first()
    return None if row is None else _Index(bool(row[0]), bool(row[1]), str(row[2]))


def _definition_of(
    ctx: MigrationContext,
    table: str,
    schema: str | None,
    columns: Sequence[str | sa.TextClause],
    unique: bool,
    dialect_kw: dict[str, Any],
) -> str:
    """The index as PostgreSQL would define it, built on an empty temporary copy of the table: so
    casts, quoting and parentheses come out exactly as in ``pg_get_indexdef`` of the real one."""
    bind = op.get_bind()
    bind.exec_driver_sql(f"drop table if exists pg_temp.{PROBE_TABLE}")
    bind.exec_driver_sql(f"create temporary table {PROBE_TABLE} (like {_qualified(ctx, table, schema)})")
    try:
        probe = ops.CreateIndexOp(PROBE_INDEX, PROBE_TABLE, list(columns), unique=unique, **dialect_kw)
        bind.execute(sa.schema.CreateIndex(probe.to_index(ctx)))
        found = bind.execute(sa.text("select pg_get_indexdef(to_regclass(:name))"), {"name": f"pg_temp.{PROBE_INDEX}"})
        return str(found.scalar_one())
    finally:
        bind.exec_driver_sql(f"drop table if exists pg_temp.{PROBE_TABLE}")


# --- constraints: NOT VALID, then VALIDATE ------------------------------------------------------


def add_foreign_key(
    name: str,
    source_table: str,
    referent_table: str,
    local_cols: Sequence[str],
    remote_cols: Sequence[str],
    *,
    source_schema: str | None = None,
    referent_schema: str | None = None,
    ondelete: str | None = None,
    onupdate: str | None = None,
    deferrable: bool | None = None,
    initially: str | None = None,
    match: str | None = None,
) -> None:
    """Add a foreign key NOT VALID (short lock, in the migration's transaction), then validate it
    outside the transaction (commits what came before; writes go on while it scans)."""

    def add() -> None:
        op.create_foreign_key(
            name,
            source_table,
            referent_table,
            list(local_cols),
            list(remote_cols),
            onupdate=onupdate,
            ondelete=ondelete,
            deferrable=deferrable,
            initially=initially,
            match=match,
            source_schema=source_schema,
            referent_schema=referent_schema,
            postgresql_not_valid=True,
        )

    _add_then_validate(name, source_table, source_schema, "f", add)


def add_check_constraint(name: str, table: str, condition: str, *, schema: str | None = None) -> None:
    """Add a CHECK constraint NOT VALID (short lock, in the migration's transaction), then validate it
    outside the transaction (commits what came before; writes go on while it scans)."""
    _add_then_validate(
        name,
        table,
        schema,
        "c",
        lambda: op.create_check_constraint(name, table, condition, schema=schema, postgresql_not_valid=True),
    )


@dataclass(frozen=True)
class _Constraint:
    kind: str  # pg_constraint.contype: c (check), f (foreign key), …
    valid: bool


_CONSTRAINT = sa.text(
    "select contype, convalidated from pg_constraint where conrelid = to_regclass(:table) and conname = :name"
)
_KINDS = {"c": "a check constraint", "f": "a foreign key"}


def _add_then_validate(name: str, table: str, schema: str | None, kind: str, add: Callable[[], None]) -> None:
    ctx = op.get_context()
    _refuse_inside_autocommit(ctx)
    existing = None if ctx.as_sql else _existing_constraint(ctx, name, table, schema)
    if existing is not None and existing.kind != kind:
        raise OnlineDDLError(
            f"{_display(table, schema)} already has a constraint {name} that is not {_KINDS[kind]} "
            f"(contype {existing.kind}); give the new one another name"
        )
    if existing is None:
        add()
        _log(ctx, "online.constraint_added", constraint=name, table=_display(table, schema), not_valid=True)
    with _outside_transaction():
        if existing is not None and existing.valid:
            logs.get().info(
                "online.constraint_valid", constraint=name, table=_display(table, schema), reason="already validated"
            )
        else:
            _validate(ctx, name, table, schema)


def _existing_constraint(ctx: MigrationContext, name: str, table: str, schema: str | None) -> _Constraint | None:
    row = op.get_bind().execute(_CONSTRAINT, {"name": name, "table": _qualified(ctx, table, schema)}).first()
    return None if row is None else _Constraint(str(row[0]), bool(row[1]))


def _validate(ctx: MigrationContext, name: str, table: str, schema: str | None) -> None:
    """VALIDATE CONSTRAINT (in an autocommit block: its scan holds no lock that blocks writes)."""
    started = time.monotonic()
    shown = _display(table, schema)
    _log(ctx, "online.constraint_validating", constraint=name, table=shown)
    quoted = ctx.dialect.identifier_preparer.quote(name)
    op.execute(f"ALTER TABLE {_qualified(ctx, table, schema)} VALIDATE CONSTRAINT {quoted}")
    _log(ctx, "online.constraint_validated", constraint=name, table=shown, duration_ms=_ms_since(started))


# --- SET NOT NULL through a validated check ------------------------------------------------------


def set_not_null(table: str, column: str, *, schema: str | None = None) -> None:
    """``ALTER COLUMN … SET NOT NULL`` without a long lock: a NOT VALID check in the migration's
    transaction, then (outside it, commits what came before) validate, SET NOT NULL, drop the check."""
    ctx = op.get_context()
    _refuse_inside_autocommit(ctx)
    check = not_null_check_name(table, column)
    shown = _display(table, schema)
    not_null, existing = (False, None) if ctx.as_sql else _not_null_state(ctx, table, column, schema, check)
    if existing is not None and existing.kind != "c":
        raise OnlineDDLError(f"{shown} already has a constraint {check} that is not a check constraint")
    preparer = ctx.dialect.identifier_preparer
    if not not_null and existing is None:
        condition = f"{preparer.quote(column)} IS NOT NULL"
        op.create_check_constraint(check, table, condition, schema=schema, postgresql_not_valid=True)
        _log(ctx, "online.constraint_added", constraint=check, table=shown, not_valid=True)
    with _outside_transaction():
        if not not_null:
            if existing is None or not existing.valid:
                _validate(ctx, check, table, schema)
            op.alter_column(table, column, nullable=False, schema=schema)
        if not not_null or existing is not None:
            drop = f"ALTER TABLE {_qualified(ctx, table, schema)} DROP CONSTRAINT {preparer.quote(check)}"
            # The check was only a means: NOT NULL now holds its guarantee. Offline, tell squawk so.
            op.execute(f"-- squawk-ignore ban-drop-constraint\n{drop}" if ctx.as_sql else drop)
        _log(ctx, "online.not_null_set", table=shown, column=column, already=not_null)


def not_null_check_name(table: str, column: str) -> str:
    """The temporary check's name: readable, ours (never PostgreSQL 18's ``T_C_not_null``), ≤ 63 bytes."""
    name = f"{table}_{column}_online_not_null"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return name.encode()[: MAX_IDENTIFIER - 9].decode(errors="ignore") + "_" + digest


_NOT_NULL = sa.text(
    """
    select a.attnotnull, c.contype, c.convalidated
    from pg_attribute a left join pg_constraint c on c.conrelid = a.attrelid and c.conname = :check
    where a.attrelid = to_regclass(:table) and a.attname = :column and not a.attisdropped
    """
)


def _not_null_state(
    ctx: MigrationContext, table: str, column: str, schema: str | None, check: str
) -> tuple[bool, _Constraint | None]:
    """Is the column NOT NULL already, and what is left of the temporary check (a missing column
    reads as nullable: the ALTER then fails with PostgreSQL's own message)."""
    params = {"table": _qualified(ctx, table, schema), "column": column, "check": check}
    row = op.get_bind().execute(_NOT_NULL, params).first()
    if row is None:
        return False, None
    return bool(row[0]), None if row[1] is None else _Constraint(str(row[1]), bool(row[2]))


# --- batched backfill ------------------------------------------------------------------------------


def backfill(
    table: str,
    set_sql: str,
    where_sql: str,
    key: str = "id",
    batch_size: int = 1000,
    pause: float = 0.0,
    schema: str | None = None,
) -> int:
    """``UPDATE table SET set_sql`` on the rows matching ``where_sql``, ``batch_size`` rows at a time
    in ``key`` order, each batch committed on its own (outside the migration's transaction: commits
    what came before), ``pause`` seconds between batches. ``where_sql`` must stop matching a row once
    it is done: a rerun then resumes where a failed run stopped. Returns the rows updated."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    if pause < 0:
        raise ValueError(f"pause must not be negative, not {pause}")
    ctx = op.get_context()
    target = _qualified(ctx, table, schema)
    quoted_key = ctx.dialect.identifier_preparer.quote(key)
    with _outside_transaction():
        if ctx.as_sql:
            ctx.impl.static_output(
                f"-- backfill of {_display(table, schema)}: this statement runs again and again, each batch "
                f"committed on its own, with {quoted_key} > the batch's last key, until it updates no row"
            )
            ctx.impl.static_output(batch_statement(target, quoted_key, set_sql, where_sql, batch_size, None) + ";")
            return 0
        return _batches(
            ctx, _Backfill(target, quoted_key, set_sql, where_sql, batch_size, pause, _display(table, schema))
        )


def batch_statement(table: str, key: str, set_sql: str, where_sql: str, batch_size: int, after: str | None) -> str:
    """One batch: update the next ``batch_size`` matching rows after the key ``after`` (a placeholder,
    or None for the first batch); returns how many were updated and the batch's last key, as
    PostgreSQL orders the keys (any key type, any collation)."""
    lower = f"{key} > {after} AND " if after is not None else ""
    return (
        f"WITH batch AS (SELECT {key} FROM {table} WHERE {lower}({where_sql}) ORDER BY {key} LIMIT {int(batch_size)}), "
        f"updated AS (UPDATE {table} SET {set_sql} WHERE {key} IN (SELECT {key} FROM batch) RETURNING 1) "
        f"SELECT (SELECT count(*) FROM updated), (SELECT {key} FROM batch ORDER BY {key} DESC LIMIT 1)"
    )


@dataclass(frozen=True)
class _Backfill:
    """One backfill as its batches run it."""

    target: str  # the table, quoted
    key: str  # the key column, quoted
    set_sql: str
    where_sql: str
    batch_size: int
    pause: float
    shown: str  # the table as the events name it


def _batches(ctx: MigrationContext, work: _Backfill) -> int:
    bind = op.get_bind()
    stop = _stop(ctx)
    log = logs.get().bind(table=work.shown)
    pause = work.pause
    # The fragments are the revision author's SQL: only the driver's % needs escaping around our one parameter.
    set_escaped, where_escaped = work.set_sql.replace("%", "%%"), work.where_sql.replace("%", "%%")
    started = time.monotonic()
    rows = batches = 0
    last: Any = None
    while True:
        if stop is not None:
            stop.raise_if_stopped()
        after = None if last is None else "%(last)s"
        statement = batch_statement(work.target, work.key, set_escaped, where_escaped, work.batch_size, after)
        updated, batch_last = bind.exec_driver_sql(statement, {"last": last}).one()
        if batch_last is None:
            break
        batches, rows, last = batches + 1, rows + int(updated), batch_last
        log.info("online.backfill_batch", batch=batches, batch_rows=int(updated), rows=rows, last_key=last)
        if pause:
            if stop is not None:
                stop.sleep(pause)
            else:
                time.sleep(pause)
    log.info("online.backfill_done", rows=rows, batches=batches, duration_ms=_ms_since(started))
    return rows


# --- shared ----------------------------------------------------------------------------------------


@contextmanager
def _outside_transaction() -> Iterator[MigrationContext]:
    """Alembic's autocommit_block(): commits the migration's transaction so far, runs the block
    outside any transaction, and has the rest of the migration go on in a new one."""
    ctx = op.get_context()
    _refuse_inside_autocommit(ctx)
    with ctx.autocommit_block():
        yield ctx


def _refuse_inside_autocommit(ctx: MigrationContext) -> None:
    connection = ctx.connection
    if ctx.as_sql or connection is None:
        return
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        raise OnlineDDLError(
            "migrator.online helpers open their own autocommit_block(): call them outside "
            "`with op.get_context().autocommit_block():`"
        )


def _qualified(ctx: MigrationContext, table: str, schema: str | None) -> str:
    """The table's name as SQL, each part quoted as the dialect quotes it (as Alembic's own ops do)."""
    return ctx.dialect.identifier_preparer.format_table(sa.table(table, schema=schema))


def _display(table: str, schema: str | None) -> str:
    return f"{schema}.{table}" if schema else table


def _stop(ctx: MigrationContext) -> Stop | None:
    """The run's stop event when migrator drives Alembic (None under plain ``alembic``)."""
    config = ctx.config
    stop = config.attributes.get(STOP_ATTRIBUTE) if config is not None else None
    return stop if isinstance(stop, Stop) else None


def _log(ctx: MigrationContext, event: str, **fields: Any) -> None:
    """An event of work done on the database: none while only rendering SQL (offline)."""
    if not ctx.as_sql:
        logs.get().info(event, **fields)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
