"""Review SQL: `migrator sql [FROM:]TO` and `upgrade --dry-run` (Alembic offline mode).

The SQL comes from Alembic's offline mode (``--sql``), which needs a dialect but
no database. `upgrade --dry-run` only reads the current revision, on a read-only
session, without the migration lock, and renders from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from alembic.script import ScriptDirectory
from alembic.script.revision import RangeNotAncestorError
from sqlalchemy.engine import Connection

from migrator.core import revisions
from migrator.core.errors import ConfigError, MigrationFailed, MigratorError, RevisionStateError
from migrator.core.session import Session
from migrator.core.settings import Settings
from migrator.core.state import Facts
from migrator.engine import alembic_ops, db, logs
from migrator.engine.project import Project

# Offline rendering needs only a dialect: no host, no credentials.
PLACEHOLDER_URL = "postgresql+psycopg2://"
_REVISION_HINT = "check the revision ids with `migrator history`"


def parse_range(text: str) -> tuple[str, str]:
    """``TO`` or ``FROM:TO`` → (FROM, TO); FROM defaults to base."""
    parts = [part.strip() for part in text.strip().split(":")]
    if len(parts) > 2 or not parts[-1]:
        raise ConfigError(f"not a revision range: {text!r}", hint="use TO or FROM:TO, e.g. base:head or head:base")
    start = parts[0] if len(parts) == 2 and parts[0] else "base"
    return start, parts[-1]


def sql(settings: Settings, stdout: TextIO, range_: str) -> None:
    """Print the SQL of an upgrade (FROM below TO) or a downgrade (FROM above TO)."""
    start, end = parse_range(range_)
    project = offline_project(settings, stdout)
    way = direction(project.script, start, end)
    render(project, way, start, end, stdout, settings.transaction_per_migration)
    logs.get().info("sql.rendered", command="sql", range=f"{start}:{end}", direction=way)


def dry_run(session: Session, stdout: TextIO, target: str) -> None:
    """Print what `upgrade TARGET` would run from the database's current revision; change nothing."""
    settings = session.settings
    log = logs.get().bind(command="upgrade", target=target, dry_run=True)
    project = offline_project(settings, stdout)
    scripts = alembic_ops.script_state(project.script)
    with db.connection(session) as conn:
        state = _read_only_state(conn, project)
        accepted = project.changed_since_applied(conn, settings.allow_changed)  # refused as upgrade would
    if accepted:
        log.warning("checksum.change_accepted", revisions=accepted)
    state = _after_baseline(project.script, state, settings.baseline, stdout)
    revisions.check_before_upgrade(state, scripts, target, project.version_table)
    steps = pending_to(project.script, state.current, target)
    at = revisions.describe(state.current)
    log.info("dry_run.state", current=at, pending=[revision for revision, _ in steps])
    if not steps:
        stdout.write(f"-- nothing to do: the database is at {at}\n")
        return
    if len(state.current) > 1:
        raise RevisionStateError(
            f"the database is at several revisions ({at}); the SQL can only be rendered from one",
            hint="render each branch with `migrator sql FROM:TARGET`",
        )
    for revision, message in steps:
        stdout.write(f"-- pending: {revision} {message}\n")
    start = state.current[0] if state.current else "base"
    render(project, "upgrade", start, target, stdout, settings.transaction_per_migration)
    log.info("sql.rendered", range=f"{start}:{target}", direction="upgrade")


def offline_project(settings: Settings, stdout: TextIO) -> Project:
    """The project with a URL in its config, never its password: the real one when given, else a bare dialect."""
    project = Project.load(settings, stdout, with_url=settings.database_url is not None, with_password=False)
    if not project.cfg.get_main_option("sqlalchemy.url"):
        project.cfg.set_main_option("sqlalchemy.url", PLACEHOLDER_URL)
    return project


def direction(script: ScriptDirectory, start: str, end: str) -> str:
    """``upgrade`` when START is at or below END, ``downgrade`` when above it."""
    with translated_errors(f"{start}:{end}"):
        try:
            list(script.iterate_revisions(end, start))
            return "upgrade"
        except RangeNotAncestorError:
            pass
        try:
            list(script.iterate_revisions(start, end))
            return "downgrade"
        except RangeNotAncestorError:
            raise RevisionStateError(
                f"{start} and {end} are on different branches: neither is below the other",
                hint="render each branch from its own base, e.g. `migrator sql base:REV`",
            ) from None


def render(
    project: Project,
    way: str,
    start: str,
    end: str,
    out: TextIO,
    per_migration: bool,
    parents: tuple[str, ...] | None = None,
) -> None:
    """Alembic's offline SQL for ``start:end`` into ``out``; with ``parents``, rendered as if the
    database were at all of them (a merge revision alone, not the other branch)."""
    project.cfg.output_buffer = out
    run = alembic_ops.upgrade if way == "upgrade" else alembic_ops.downgrade
    hooks = project.hooks(None, per_migration)
    hooks.starting_rev = parents
    with translated_errors(f"{start}:{end}"), alembic_ops.driving(project.cfg, project.script, hooks):
        run(project.cfg, f"{start}:{end}", sql=True)


def pending_to(script: ScriptDirectory, current: tuple[str, ...], target: str) -> list[tuple[str, str]]:
    """(revision, message) that `upgrade TARGET` would apply from ``current``, oldest first."""
    with translated_errors(target):
        lower = current if current else None
        steps = list(script.iterate_revisions(target, lower, implicit_base=True))
    return [(s.revision, (s.doc or "").strip()) for s in reversed(steps) if s.revision not in current]


@contextmanager
def translated_errors(what: str, script: ScriptDirectory | None = None) -> Iterator[None]:
    """Alembic's errors as alembic_ops translates them; besides, a migration that cannot run offline (1)."""
    try:
        with alembic_ops.translated_revision_errors(script, what):
            yield
    except MigratorError:
        raise
    except Exception as exc:
        raise MigrationFailed(
            f"cannot render {what} as SQL: {type(exc).__name__}: {exc}",
            hint="offline mode has no database: a migration that reads data cannot be rendered",
        ) from exc


def _read_only_state(conn: Connection, project: Project) -> Facts:
    # The server refuses any write on this session, whatever an env.py or a bug might try.
    conn.exec_driver_sql("set session characteristics as transaction read only")
    conn.commit()
    return project.read_state(conn)


def _after_baseline(script: ScriptDirectory, state: Facts, baseline: str | None, stdout: TextIO) -> Facts:
    """With --baseline, an unversioned database with tables would first be stamped: start from there."""
    if baseline is None or state.has_version_table or not state.other_tables:
        return state
    with translated_errors(baseline):
        stamped = tuple(s.revision for s in script.get_revisions(baseline) if s is not None)
    stdout.write(f"-- baseline: the database would first be stamped at {revisions.describe(stamped)}\n")
    return Facts(stamped, state.other_tables)
