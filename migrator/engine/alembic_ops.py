"""Thin wrappers over alembic.command and the two state readers (files, database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError

from migrator.core import scriptfiles
from migrator.core.errors import ConfigError, DatabaseUnavailable, MigrationFailed, MigratorError, RevisionStateError
from migrator.core.revisions import DatabaseState, ScriptState
from migrator.core.signals import Stop
from migrator.engine.db import error_text
from migrator.engine.progress import Progress

DEFAULT_VERSION_TABLE = "alembic_version"


def make_config(config_path: Path, url: URL | None, stdout: TextIO) -> Config:
    """Alembic's Config with our URL in it; env.py is told to leave logging alone."""
    if not config_path.is_file():
        raise ConfigError(
            f"Alembic config {config_path} not found",
            hint="run from the project root or pass -c/--config (env ALEMBIC_CONFIG)",
        )
    cfg = Config(str(config_path), stdout=stdout)
    cfg.attributes["configure_logger"] = False
    if url is not None:
        # configparser interpolation: a literal % must be doubled.
        cfg.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def version_table(cfg: Config) -> tuple[str, str | None]:
    """(table, schema) of the version table, as alembic.ini declares it for env.py and us."""
    table = cfg.get_main_option("version_table") or DEFAULT_VERSION_TABLE
    schema = cfg.get_main_option("version_table_schema") or None
    return table, schema


def load_script(cfg: Config) -> ScriptDirectory:
    try:
        return ScriptDirectory.from_config(cfg)
    except CommandError as exc:
        raise ConfigError(
            f"cannot load the migration scripts: {exc}", hint="check script_location in alembic.ini"
        ) from exc


def script_state(script: ScriptDirectory) -> ScriptState:
    """Heads and known revisions: read statically from plain files when possible, so the
    files are executed only once, by the Alembic command itself; else Alembic's loader."""
    graph = _static_graph(script)
    found = scriptfiles.heads(graph) if graph is not None else None
    if graph is not None and found is not None:
        return ScriptState(heads=found, known=frozenset(graph))
    with translated_revision_errors():
        try:
            known = frozenset(s.revision for s in script.walk_revisions())
        except (SyntaxError, ImportError, AttributeError) as exc:
            raise ConfigError(
                f"cannot load the migration scripts: {type(exc).__name__}: {exc}",
                hint="fix the revision file named above",
            ) from exc
        return ScriptState(heads=tuple(script.get_heads()), known=known)


def _scan(script: ScriptDirectory) -> tuple[scriptfiles.Graph, dict[str, Path]] | None:
    if script.version_locations or script.recursive_version_locations or script.sourceless:
        return None
    return scriptfiles.scan(Path(script.dir) / "versions")  # remembered while the files do not change


def _static_graph(script: ScriptDirectory) -> scriptfiles.Graph | None:
    found = _scan(script)
    return found[0] if found is not None else None


def revision_files(script: ScriptDirectory) -> dict[str, Path]:
    """Each revision's file: from the static scan when possible, else from Alembic's loader."""
    found = _scan(script)
    if found is not None:
        return found[1]
    with translated_revision_errors():
        return {s.revision: Path(s.path) for s in script.walk_revisions()}


def ancestors(script: ScriptDirectory, heads: tuple[str, ...]) -> list[str]:
    """Every revision at or below ``heads`` (Alembic's own walk), oldest first."""
    with translated_revision_errors():
        return [s.revision for s in reversed(list(script.iterate_revisions(heads, "base")))]


def database_state(conn: Connection, table: str, schema: str | None) -> DatabaseState:
    """Read the version table with Alembic's own reader, and list the other tables."""
    tables = (
        conn.execute(
            text(
                "select table_name from information_schema.tables "
                "where table_schema = coalesce(:schema, current_schema()) and table_type = 'BASE TABLE' "
                "order by table_name"
            ),
            {"schema": schema},
        )
        .scalars()
        .all()
    )
    has_version_table = table in tables
    current: tuple[str, ...] = ()
    if has_version_table:
        context = MigrationContext.configure(conn, opts={"version_table": table, "version_table_schema": schema})
        current = tuple(context.get_current_heads())
    conn.commit()
    return DatabaseState(has_version_table, current, tuple(t for t in tables if t != table))


def pending(script: ScriptDirectory, db: DatabaseState) -> list[tuple[str, str]]:
    """(revision, message) between the database and the heads, oldest first."""
    with translated_revision_errors():
        lower: Any = db.current if db.current else None
        steps = list(script.iterate_revisions("heads", lower))
    return [(s.revision, (s.doc or "").strip()) for s in reversed(steps) if s.revision not in db.current]


def attach(cfg: Config, conn: Connection | None, progress: Progress | None, per_migration: bool) -> None:
    cfg.attributes["connection"] = conn
    options: dict[str, Any] = {"transaction_per_migration": per_migration}
    if progress is not None:
        options["on_version_apply"] = [progress.on_version_apply]
    cfg.attributes["context_options"] = options


def upgrade(cfg: Config, target: str) -> None:
    command.upgrade(cfg, target)


def downgrade(cfg: Config, target: str) -> None:
    command.downgrade(cfg, target)


def stamp(cfg: Config, target: str) -> None:
    command.stamp(cfg, target)


def current(cfg: Config, verbose: bool) -> None:
    command.current(cfg, verbose=verbose)


def history(cfg: Config, rev_range: str | None, verbose: bool) -> None:
    command.history(
        cfg, rev_range=rev_range, verbose=verbose, indicate_current=cfg.attributes.get("connection") is not None
    )


def heads(cfg: Config, verbose: bool) -> None:
    command.heads(cfg, verbose=verbose)


def create(cfg: Config, message: str, autogenerate: bool) -> list[str]:
    """Write a new revision file; returns the paths written."""
    written = command.revision(cfg, message=message, autogenerate=autogenerate)
    scripts = written if isinstance(written, list) else [written]
    return [s.path for s in scripts if s is not None]


@contextmanager
def translated_revision_errors() -> Iterator[None]:
    try:
        yield
    except CommandError as exc:
        raise RevisionStateError(str(exc), hint="check the revision id with `migrator history`") from exc


@contextmanager
def translated_migration_errors(stop: Stop, at: str) -> Iterator[None]:
    """Errors raised while Alembic runs: revision problems (5), lost connection (3), the rest (1)."""
    try:
        yield
    except MigratorError:
        raise
    except CommandError as exc:
        stop.raise_if_stopped()
        raise RevisionStateError(str(exc), hint="check the revision id with `migrator history`") from exc
    except SyntaxError as exc:  # raised while Alembic loads the files, before any migration runs
        raise ConfigError(
            f"cannot load the migration scripts: SyntaxError: {exc}", hint="fix the revision file named above"
        ) from exc
    except DBAPIError as exc:
        if stop.stopped:
            raise stop.interrupted() from exc
        if exc.connection_invalidated:
            raise DatabaseUnavailable(
                f"lost the database connection during the migration: {error_text(exc)}",
                hint=f"nothing was committed; the database is still at {at}; run again once it is back",
            ) from exc
        raise MigrationFailed(
            f"migration failed: {error_text(exc)}", hint=f"rolled back; the database is still at {at}"
        ) from exc
    except Exception as exc:
        stop.raise_if_stopped()
        raise MigrationFailed(
            f"migration failed: {type(exc).__name__}: {exc}", hint=f"rolled back; the database is still at {at}"
        ) from exc
