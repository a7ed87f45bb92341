"""Review SQL: `migrator sql [FROM:]TO` and `upgrade --dry-run` (Alembic offline mode).

The SQL comes from Alembic's offline mode (``--sql``), which needs a dialect but
no database. `upgrade --dry-run` only reads the database's state, on a read-only
session, without the migration lock, takes upgrade's own decision from it
(``Project.decide`` and ``plan.scope``: the same refusals, the same pending steps in
the same --phase) and renders those steps from there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from alembic.script import ScriptDirectory
from alembic.script.revision import RangeNotAncestorError
from sqlalchemy.engine import Connection

from migrator.core import plan, revisions
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
    """Print what `upgrade TARGET` would run from the database's current revision, decided as upgrade
    decides (core/plan.py, in its --phase) and refused as it refuses; change nothing."""
    settings = session.settings
    log = logs.get().bind(command="upgrade", target=target, dry_run=True)
    project = offline_project(settings, stdout)
    scripts = alembic_ops.script_state(project.script)
    with db.connection(session) as conn:
        facts = _after_baseline(project.script, _read_only_state(conn, project), settings.baseline, stdout)
        outcome = project.decide("upgrade", target, facts, scripts)
        if isinstance(outcome, plan.Refuse):
            raise outcome.error
        accepted = project.changed_since_applied(conn, settings.allow_changed)  # refused as upgrade would
    if accepted:
        log.warning("checksum.change_accepted", revisions=accepted)
    scoped = plan.scope(settings.phase, outcome, target, facts.current, project.steps)
    steps = scoped.outcome.pending if isinstance(scoped.outcome, plan.Work) else ()
    at = revisions.describe(facts.current)
    log.info("dry_run.state", current=at, pending=[rev for rev, _ in steps], held=[rev for rev, _ in scoped.held])
    if not steps:
        _listed(stdout, "held", scoped.held)
        stdout.write(f"-- nothing to do: the database is at {at}\n")
        return
    if len(facts.current) > 1:
        raise RevisionStateError(
            f"the database is at several revisions ({at}); the SQL can only be rendered from one",
            hint="render each branch with `migrator sql FROM:TARGET`",
        )
    if len(scoped.targets) > 1:
        raise RevisionStateError(
            f"the expand phase ends at several revisions ({revisions.describe(scoped.targets)}); "
            "the SQL can only be rendered to one",
            hint="render each branch with `migrator sql FROM:REV`",
        )
    _listed(stdout, "pending", steps)
    _listed(stdout, "held", scoped.held)
    start, end = (facts.current[0] if facts.current else "base"), scoped.targets[0]
    render(project, "upgrade", start, end, stdout, settings.transaction_per_migration)
    log.info("sql.rendered", range=f"{start}:{end}", direction="upgrade")


def _listed(stdout: TextIO, kind: str, steps: Sequence[tuple[str, str]]) -> None:
    for revision, message in steps:
        stdout.write(f"-- {kind}: {revision} {message}\n")


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


def render(project: Project, way: str, start: str, end: str, out: TextIO, per_migration: bool | None) -> None:
    """Alembic's offline SQL for ``start:end`` into ``out``."""
    _render(project, way, f"{start}:{end}", out, project.hooks(None, per_migration))


def render_revision(project: Project, revision: str, parents: tuple[str, ...], out: TextIO) -> None:
    """The upgrade SQL of ``revision`` alone into ``out``, rendered as if the database were at all its
    ``parents`` (a merge revision alone, not the other branch; no parents: from base)."""
    hooks = project.hooks(None, False)
    hooks.starting_rev = parents or None
    _render(project, "upgrade", f"{parents[0] if parents else 'base'}:{revision}", out, hooks)


def _render(project: Project, way: str, range_: str, out: TextIO, hooks: alembic_ops.Hooks) -> None:
    project.cfg.output_buffer = out
    run = alembic_ops.upgrade if way == "upgrade" else alembic_ops.downgrade
    with translated_errors(range_), alembic_ops.driving(project.cfg, project.script, hooks):
        run(project.cfg, range_, sql=True)


def pending_to(script: ScriptDirectory, current: tuple[str, ...], target: str) -> list[tuple[str, str]]:
    """(revision, message) that `upgrade TARGET` would apply from ``current``, oldest first: the walk
    the real upgrade takes (alembic_ops.pending), not a copy of it."""
    return alembic_ops.pending(script, target, current)


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
