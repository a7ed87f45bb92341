"""`status`, `current`, `heads` and `history`: read-only views of the scripts and the database.

Text is Alembic's own output where the team's guide knows it (`current`, `heads`, `history`),
aligned tables for migrator's own views (`status`, `history --applied`); ``--format json``
prints one JSON document whatever the view (fields in the README, "JSON output").
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from sqlalchemy.engine import Connection

from migrator.core import revisions
from migrator.core.errors import MigratorError
from migrator.core.session import Session
from migrator.core.state import Facts
from migrator.engine import alembic_ops, db, views
from migrator.engine import history as records
from migrator.engine.project import Project

_HISTORY_ID = re.compile(r"-> (\S+?)(?: \(|,|$)")  # "<base> -> c1 (core) (head), message"


def heads(session: Session, stdout: TextIO, fmt: str, verbose: bool) -> None:
    """The scripts' heads (no database needed)."""
    project = Project.load(session.settings, stdout, with_url=session.settings.database_url is not None)
    with alembic_ops.translated_revision_errors(project.script):
        if fmt == "text":
            alembic_ops.heads(project.cfg, verbose)
            return
        effective = views.effective_heads(project.script)
        shown = [s for s in views.oldest_first(project.script) if s.is_head]
        views.write_json(stdout, {"heads": [views.revision(s, frozenset(), effective) for s in shown]})


def history(session: Session, stdout: TextIO, fmt: str, rev_range: str | None, verbose: bool, applied: bool) -> None:
    """The revisions (the current one marked when a database URL is set), or what migrator applied, when."""
    settings = session.settings
    project = Project.load(settings, stdout, with_url=applied or settings.database_url is not None)
    with alembic_ops.translated_revision_errors(project.script):
        if not applied and settings.database_url is None:
            _history(project, stdout, fmt, rev_range, verbose, current=())
            return
        with _connected(session, project) as conn:
            if applied:
                _applied(project, conn, stdout, fmt, rev_range)
            else:
                _history(project, stdout, fmt, rev_range, verbose, current=project.read_state(conn).current)


def current(session: Session, stdout: TextIO, fmt: str, verbose: bool) -> None:
    """The database's revision(s), base when it has none."""
    project = Project.load(session.settings, stdout)
    with alembic_ops.translated_revision_errors(project.script), _connected(session, project) as conn:
        _current(project, stdout, fmt, _known(project, project.read_state(conn)), verbose)


def status(session: Session, stdout: TextIO, fmt: str) -> None:
    """Every revision, applied or pending, with the heads and the target."""
    project = Project.load(session.settings, stdout)
    with alembic_ops.translated_revision_errors(project.script), _connected(session, project) as conn:
        current = _known(project, project.read_state(conn))
        _status(project, conn, stdout, fmt, current, session.settings.target)


def _known(project: Project, facts: Facts) -> tuple[str, ...]:
    """The version rows, when this code knows each: a deleted (or newer) revision is explained as
    `upgrade` explains it, not as Alembic's "Can't locate revision"."""
    revisions.refuse_unknown(facts, alembic_ops.script_state(project.script))
    return tuple(facts.current)


@contextmanager
def _connected(session: Session, project: Project) -> Iterator[Connection]:
    with db.connection(session) as conn, alembic_ops.driving(project.cfg, project.script, project.hooks(conn)):
        yield conn
        conn.rollback()


def _current(project: Project, stdout: TextIO, fmt: str, current: tuple[str, ...], verbose: bool) -> None:
    alembic_ops.script_state(project.script)  # a revision file that does not load is reported, at base too
    if fmt == "json":
        effective = views.effective_heads(project.script)
        shown = [views.revision(s, frozenset(current), effective) for s in project.script.get_revisions(current)]
        views.write_json(stdout, {"current": shown})
    elif not current:
        stdout.write("base\n")  # Alembic prints nothing for an empty database
    else:
        alembic_ops.current(project.cfg, verbose)


def _history(
    project: Project, stdout: TextIO, fmt: str, rev_range: str | None, verbose: bool, current: tuple[str, ...]
) -> None:
    if fmt == "text":
        alembic_ops.history(project.cfg, rev_range, verbose, indicate_current=bool(current))
        return
    chosen = set(_in_range(project, rev_range)) if rev_range else None
    effective = views.effective_heads(project.script)
    shown = [
        views.revision(s, frozenset(current), effective)
        for s in views.oldest_first(project.script)
        if chosen is None or s.revision in chosen
    ]
    views.write_json(stdout, {"revisions": shown})


def _applied(project: Project, conn: Connection, stdout: TextIO, fmt: str, rev_range: str | None) -> None:
    entries = records.entries(conn, project.version_schema)
    if rev_range:
        chosen = set(_in_range(project, rev_range))
        entries = [e for e in entries if e.revision in chosen]
    if fmt == "json":
        views.write_json(stdout, {"entries": [views.entry(e) for e in entries]})
    elif not records.exists(conn, project.version_schema):
        stdout.write("no migrator_history table: nothing was applied by migrator yet\n")
    else:
        stdout.write(views.applied_text(entries))


def _status(
    project: Project, conn: Connection, stdout: TextIO, fmt: str, current: tuple[str, ...], target: str
) -> None:
    script = project.script
    applied = frozenset(alembic_ops.ancestors(script, current)) if current else frozenset()
    pending = alembic_ops.pending_or_error(script, target, current)
    if isinstance(pending, MigratorError):  # e.g. `head` with several heads: show what `heads` would do
        target, pending = "heads", alembic_ops.pending(script, "heads", current)
    view = views.status(script, current, applied, pending, records.entries(conn, project.version_schema), target)
    if fmt == "json":
        views.write_json(stdout, view)
    else:
        stdout.write(views.status_text(view))


def _in_range(project: Project, rev_range: str) -> list[str]:
    """The revisions Alembic's own `history -r RANGE` selects (its range syntax, relative steps included)."""
    saved, project.cfg.stdout = project.cfg.stdout, io.StringIO()
    try:
        alembic_ops.history(project.cfg, rev_range, False, indicate_current=False)
        text = project.cfg.stdout.getvalue()
    finally:
        project.cfg.stdout = saved
    return [m[1] for line in text.splitlines() if (m := _HISTORY_ID.search(line))]
