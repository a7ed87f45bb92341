"""The migration job: wait → lock → re-read → migrate → release, and the read-only checks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from migrator import commands, db, logs, revisions
from migrator.errors import NotAtHead
from migrator.lock import advisory_lock, lock_key
from migrator.progress import Progress
from migrator.settings import Settings
from migrator.signals import Stop
from migrator.wait import wait_for_database


@dataclass
class Project:
    """Alembic's view of the project: config, scripts, version table."""

    cfg: Config
    script: ScriptDirectory
    version_table: str
    version_schema: str | None

    @classmethod
    def load(cls, settings: Settings, stdout: TextIO, with_url: bool = True) -> Project:
        url = db.normalise_url(settings.database_url) if with_url else None
        cfg = commands.make_config(settings.config_path, url, stdout)
        table, schema = commands.version_table(cfg)
        return cls(cfg, commands.load_script(cfg), table, schema)


@contextmanager
def connection(settings: Settings, stop: Stop) -> Iterator[Connection]:
    """A connection once the database answers; statements on it are cancelled by a signal."""
    url = db.normalise_url(settings.database_url)
    engine = db.make_engine(url)
    conn = wait_for_database(
        lambda remaining: db.connect(engine, remaining), settings.wait_timeout, stop, db.display(url)
    )
    stop.set_cancel(conn.connection.dbapi_connection.cancel)  # type: ignore[union-attr]
    db.watch_client(conn)
    try:
        yield conn
    finally:
        stop.set_cancel(None)
        conn.close()
        engine.dispose()


def migrate(settings: Settings, action: str, target: str, stop: Stop, stdout: TextIO) -> None:
    """``upgrade``, ``downgrade`` or ``stamp`` under the migration lock."""
    log = logs.get().bind(command=action, target=target)
    started = time.monotonic()
    project = Project.load(settings, stdout)
    scripts = commands.script_state(project.script)
    key = (
        settings.lock_key if settings.lock_key is not None else lock_key(project.version_table, project.version_schema)
    )
    with (
        connection(settings, stop) as conn,
        advisory_lock(conn, key, settings.lock_timeout, stop, lambda: db.backend_pid(conn.engine)),
    ):
        before = commands.database_state(conn, project.version_table, project.version_schema)
        _refuse(action, before, scripts, target, project.version_table)
        progress = Progress(stop)
        after = before
        if action == "upgrade" and revisions.nothing_to_do(before, scripts, target):
            log.info("run.nothing_to_do", revision=revisions.describe(before.current))
        else:
            with progress:
                _run(project, conn, action, target, settings.transaction_per_migration, progress, stop, before)
            after = commands.database_state(conn, project.version_table, project.version_schema)
    _summary(log, before.current, after.current, progress.applied, started)


def _refuse(
    action: str, before: revisions.DatabaseState, scripts: revisions.ScriptState, target: str, table: str
) -> None:
    if action == "upgrade":
        revisions.check_before_upgrade(before, scripts, target, table)
    elif action == "downgrade":
        revisions.check_before_downgrade(before, scripts, table)


def _run(
    project: Project,
    conn: Connection,
    action: str,
    target: str,
    per_migration: bool,
    progress: Progress,
    stop: Stop,
    before: revisions.DatabaseState,
) -> None:
    run = {"upgrade": commands.upgrade, "downgrade": commands.downgrade, "stamp": commands.stamp}[action]
    commands.attach(project.cfg, conn, progress, per_migration)
    at = revisions.describe(before.current)
    where = f"{at} or the last migration that completed (see `migrator current`)" if per_migration else at
    with commands.translated_migration_errors(stop, where):
        if per_migration:
            run(project.cfg, target)
        else:
            # One transaction around every step: Alembic sees it and opens none of its own.
            with conn.begin():
                run(project.cfg, target)
                progress.finish()
                stop.raise_if_stopped()
    progress.finish()


def _summary(log: Any, before: tuple[str, ...], after: tuple[str, ...], applied: list[Any], started: float) -> None:
    log.info(
        "run.finished",
        from_revision=revisions.describe(before),
        to_revision=revisions.describe(after),
        migrations_applied=len(applied),
        revisions=[a.revision for a in applied],
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def check(settings: Settings, stop: Stop, stdout: TextIO, wait_for_head: float | None) -> None:
    """Raise NotAtHead unless the database is at head; list what is pending on stdout."""
    log = logs.get().bind(command="check")
    project = Project.load(settings, stdout)
    scripts = commands.script_state(project.script)
    deadline = time.monotonic() + (wait_for_head or 0.0)
    with connection(settings, stop) as conn:
        announced = False
        while True:
            state = commands.database_state(conn, project.version_table, project.version_schema)
            revisions.refuse_unknown(state, scripts)
            if revisions.is_at_head(state, scripts) and (state.has_version_table or not scripts.heads):
                stdout.write(f"at head: {revisions.describe(state.current)}\n")
                log.info("check.at_head", revision=revisions.describe(state.current))
                return
            todo = commands.pending(project.script, state)
            if time.monotonic() >= deadline:
                for revision, message in todo:
                    stdout.write(f"pending: {revision} {message}\n")
                raise NotAtHead(
                    f"the database is at {revisions.describe(state.current)}, not at head "
                    f"{revisions.describe(scripts.heads)}: {len(todo)} migration(s) pending",
                    hint="run `migrator upgrade`",
                )
            if not announced:
                log.info("check.waiting_for_head", current=revisions.describe(state.current), pending=len(todo))
                announced = True
            if stop.event.wait(min(0.5, max(0.0, deadline - time.monotonic()))):
                stop.raise_if_stopped()


def read_only(settings: Settings, stop: Stop, stdout: TextIO, action: str, **options: Any) -> None:
    """``current`` / ``history`` / ``heads`` / ``create``: Alembic's own output on stdout."""
    needs_db = action in ("current", "create") and not (action == "create" and options.get("empty"))
    project = Project.load(settings, stdout, with_url=needs_db or settings.database_url is not None)
    with commands.translated_revision_errors():
        if action == "heads":
            commands.heads(project.cfg, options.get("verbose", False))
        elif action == "history" and settings.database_url is None:
            commands.history(project.cfg, options.get("rev_range"), options.get("verbose", False))
        elif action == "create" and options.get("empty"):
            _created(commands.create(project.cfg, options["message"], autogenerate=False))
        else:
            with connection(settings, stop) as conn:
                commands.attach(project.cfg, conn, None, per_migration=False)
                if action == "current":
                    commands.current(project.cfg, options.get("verbose", False))
                elif action == "history":
                    commands.history(project.cfg, options.get("rev_range"), options.get("verbose", False))
                else:
                    _created(commands.create(project.cfg, options["message"], autogenerate=True))
                conn.rollback()


def _created(paths: list[str]) -> None:
    for path in paths:
        logs.get().info("revision.created", path=path)


def wait_only(settings: Settings, stop: Stop) -> None:
    with connection(settings, stop):
        pass
