"""The migration job: wait → lock → re-read → migrate → release, and the read-only checks."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from migrator.core import checksums, lock, revisions, urls
from migrator.core.errors import MigrationFailed, NotAtHead, RevisionStateError
from migrator.core.report import RunRecord
from migrator.core.session import Session
from migrator.core.settings import Settings
from migrator.core.signals import Stop
from migrator.engine import alembic_ops, backup, db, ddl, history, logs
from migrator.engine.progress import Progress


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
        cfg = alembic_ops.make_config(settings.config_path, url, stdout)
        table, schema = alembic_ops.version_table(cfg)
        return cls(cfg, alembic_ops.load_script(cfg), table, schema)


@contextmanager
def connection(session: Session) -> Iterator[Connection]:
    """SQLAlchemy over the session's connection (opened by the core if it is not yet);
    statements on it are cancelled by a signal."""
    raw = session.connect()
    raw.autocommit = False  # SQLAlchemy demarcates the transactions from here on
    engine = db.adopt(db.normalise_url(session.settings.database_url), raw)
    conn = engine.connect()
    session.stop.set_cancel(raw.cancel)
    try:
        yield conn
    finally:
        session.stop.set_cancel(None)
        conn.close()  # rolls back; the connection stays open for the lock's release (db.adopt)


@contextmanager
def migration_lock(session: Session, key: int) -> Iterator[None]:
    """Hold the migration lock on the session's connection for the block (maybe taken by the light stage)."""
    settings = session.settings
    raw = session.connect()
    started = time.monotonic()
    acquired_by = session.locked_by
    if acquired_by is None:
        acquired_by = lock.acquire(raw, key, settings.lock_timeout, session.stop, session.emitter)
        assert acquired_by is not None  # no `done` given: only a timeout or a signal ends the wait
        session.locked_by = acquired_by
    try:
        lock.verify_held(raw, key, acquired_by, urls.parse(settings.database_url))
        waited_ms = round((time.monotonic() - started) * 1000)
        session.emitter.emit("lock.acquired", lock_key=key, waited_ms=waited_ms, backend_pid=acquired_by)
        yield
    finally:
        if not raw.closed:
            lock.release(raw, key, session.emitter)
        session.locked_by = None


def migrate(
    session: Session,
    action: str,
    target: str,
    stdout: TextIO,
    record: RunRecord,
) -> None:
    """``upgrade``, ``downgrade`` or ``stamp`` under the migration lock (maybe already taken
    by the light stage, on the session's connection)."""
    settings, stop = session.settings, session.stop
    log = logs.get().bind(command=action, target=target)
    started = time.monotonic()
    project = Project.load(settings, stdout)
    scripts = alembic_ops.script_state(project.script)
    key = (
        settings.lock_key
        if settings.lock_key is not None
        else lock.lock_key(project.version_table, project.version_schema)
    )
    progress = Progress(stop)
    with migration_lock(session, key), connection(session) as conn:
        before = _state(conn, project)
        record.from_revision = record.to_revision = revisions.describe(before.current)
        if action == "upgrade" and settings.baseline:
            before = _baseline(conn, project, settings.baseline, before, record, log)
        _refuse(action, before, scripts, target, project.version_table)
        if action == "upgrade":
            _refuse_changed(conn, project, settings.allow_changed, record, log)
        after = before
        if action == "upgrade" and revisions.nothing_to_do(before, scripts, target):
            log.info("run.nothing_to_do", revision=revisions.describe(before.current))
        else:
            if settings.backup_command and action != "stamp":
                env = backup.environment(conn.engine.url, settings.backup_environment, record.from_revision, target)
                backup.run(settings.backup_command, env, stop)
            try:
                _run_with_retries(project, conn, settings, action, target, progress, stop, before, record)
            finally:
                after = _state_after(conn, project, before)
                record.to_revision = revisions.describe(after.current)
                record.applied = [{"revision": a.revision, "duration_ms": a.duration_ms} for a in progress.applied]
    _summary(log, before.current, after.current, progress.applied, started)


def _state(conn: Connection, project: Project) -> revisions.DatabaseState:
    return alembic_ops.database_state(conn, project.version_table, project.version_schema)


def _state_after(conn: Connection, project: Project, before: revisions.DatabaseState) -> revisions.DatabaseState:
    """The state after a run, if the connection still works; a failure must not hide the first error."""
    try:
        return _state(conn, project)
    except DBAPIError:
        return before


def _baseline(
    conn: Connection, project: Project, revision: str, before: revisions.DatabaseState, record: RunRecord, log: Any
) -> revisions.DatabaseState:
    """An existing database built without migrations: stamp it at ``revision``, then go on."""
    if before.has_version_table or not before.other_tables:
        return before
    with alembic_ops.translated_revision_errors(), conn.begin():
        alembic_ops.attach(project.cfg, conn, None, per_migration=False)
        alembic_ops.stamp(project.cfg, revision)
        after = _state_in_transaction(conn, project)
        history.ensure(conn, project.version_schema)
        files = alembic_ops.revision_files(project.script)
        rows = [_row(rev, "baseline", files, None, None, True) for rev in after.current]
        history.record(conn, project.version_schema, record.run_id, rows)
    log.info("run.baselined", revision=revisions.describe(after.current), tables=len(before.other_tables))
    return _state(conn, project)


def _state_in_transaction(conn: Connection, project: Project) -> revisions.DatabaseState:
    """Read the state without committing the caller's transaction."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        conn, opts={"version_table": project.version_table, "version_table_schema": project.version_schema}
    )
    return revisions.DatabaseState(True, tuple(context.get_current_heads()), ())


def changed_since_applied(conn: Connection, project: Project, allowed: tuple[str, ...]) -> list[str]:
    """Applied migrations whose file changed since: refuse (5) unless declared known; return those declared."""
    recorded = history.applied_checksums(conn, project.version_schema)
    conn.commit()
    if not recorded:
        return []
    files = alembic_ops.revision_files(project.script)
    changed = checksums.changed(recorded, checksums.of_files(files, recorded), ())
    refused = [c for c in changed if c[0] not in allowed]
    if refused:
        names = ", ".join(rev for rev, _, _ in refused)
        raise RevisionStateError(
            f"applied migration(s) {names} changed since they were applied "
            f"(sha256 recorded {refused[0][1][:12]}, file now {(refused[0][2] or 'missing')[:12]})",
            hint="never edit an applied migration: restore the file and add a new revision; if the change is "
            f"known to be harmless, pass --allow-changed {refused[0][0]} (env MIGRATOR_ALLOW_CHANGED)",
        )
    return [rev for rev, _, _ in changed]


def _refuse_changed(conn: Connection, project: Project, allowed: tuple[str, ...], record: RunRecord, log: Any) -> None:
    accepted = changed_since_applied(conn, project, allowed)
    if accepted:
        files = alembic_ops.revision_files(project.script)
        with conn.begin():
            rows = [_row(rev, "accepted", files, None, None, True) for rev in accepted]
            history.record(conn, project.version_schema, record.run_id, rows)
        log.warning("checksum.change_accepted", revisions=accepted)


def _row(
    revision: str,
    direction: str,
    files: dict[str, Path],
    started_at: datetime | None,
    duration_ms: int | None,
    success: bool,
) -> history.Row:
    path = files.get(revision)
    digest = checksums.of_file(path) if path is not None else None
    return history.Row(revision, direction, digest, started_at, duration_ms, success)


def _refuse(
    action: str, before: revisions.DatabaseState, scripts: revisions.ScriptState, target: str, table: str
) -> None:
    if action == "upgrade":
        revisions.check_before_upgrade(before, scripts, target, table)
    elif action == "downgrade":
        revisions.check_before_downgrade(before, scripts, table)


def _run_with_retries(
    project: Project,
    conn: Connection,
    settings: Settings,
    action: str,
    target: str,
    progress: Progress,
    stop: Stop,
    before: revisions.DatabaseState,
    record: RunRecord,
) -> None:
    """Run the command; when a statement gave up waiting for a lock, retry the transaction."""
    log = logs.get()
    ddl.set_timeouts(conn, settings.ddl_lock_timeout, settings.statement_timeout)
    backend_pid = int(conn.exec_driver_sql("select pg_backend_pid()").scalar_one())
    conn.commit()
    attempts = settings.ddl_retries + 1
    for attempt in range(1, attempts + 1):
        kept = len(progress.applied)
        watch = ddl.BlockerWatch(
            conn.engine.url, backend_pid, interval=0.2, grace=min(0.5, settings.ddl_lock_timeout / 2)
        )
        try:
            with watch, progress:
                _run(project, conn, action, target, settings.transaction_per_migration, progress, stop, before, record)
            return
        except MigrationFailed as exc:
            failed = progress.abandon()
            if not settings.transaction_per_migration:
                progress.rolled_back(kept)
            _record_failure(conn, project, record, failed)
            if not ddl.is_lock_timeout(exc) or attempt == attempts:
                raise _with_blockers(exc, watch.seen, settings.ddl_lock_timeout, attempt) from exc.__cause__
            delay = min(10.0, 0.5 * 2 ** (attempt - 1)) + random.uniform(0, 0.25)
            log.warning(
                "migration.lock_timeout",
                attempt=attempt,
                retry_in_ms=round(delay * 1000),
                revision=failed[0] if failed else None,
                blockers=[b.describe() for b in watch.seen],
            )
            stop.sleep(delay)
            stop.raise_if_stopped()
            before = _state(conn, project)


def _with_blockers(
    exc: MigrationFailed, seen: list[ddl.Blocker], lock_timeout: float, attempts: int
) -> MigrationFailed:
    if not ddl.is_lock_timeout(exc):
        return exc
    who = "; ".join(b.describe() for b in seen) or "a session that had gone by the time we looked"
    return MigrationFailed(
        f"migration could not get its lock within {lock_timeout:g}s in {attempts} tries; blocked by {who}",
        hint="the blocking session holds a conflicting lock (often an open transaction); end it or retry later "
        "(MIGRATOR_DDL_LOCK_TIMEOUT, MIGRATOR_DDL_RETRIES)",
    )


def _record_failure(
    conn: Connection, project: Project, record: RunRecord, failed: tuple[str, str, datetime] | None
) -> None:
    if failed is None:
        return
    revision, direction, started_at = failed
    with conn.begin():
        history.ensure(conn, project.version_schema)
        duration = round((datetime.now(UTC) - started_at).total_seconds() * 1000)
        row = _row(revision, direction, alembic_ops.revision_files(project.script), started_at, duration, False)
        history.record(conn, project.version_schema, record.run_id, [row])


def _run(
    project: Project,
    conn: Connection,
    action: str,
    target: str,
    per_migration: bool,
    progress: Progress,
    stop: Stop,
    before: revisions.DatabaseState,
    record: RunRecord,
) -> None:
    run = {"upgrade": alembic_ops.upgrade, "downgrade": alembic_ops.downgrade, "stamp": alembic_ops.stamp}[action]
    alembic_ops.attach(project.cfg, conn, progress, per_migration)
    at = revisions.describe(before.current)
    where = f"{at} or the last migration that completed (see `migrator current`)" if per_migration else at
    kept = len(progress.applied)
    with alembic_ops.translated_migration_errors(stop, where):
        if per_migration:
            run(project.cfg, target)
            progress.finish()
            with conn.begin():
                _record_success(conn, project, action, progress.applied[kept:], before, record)
        else:
            # One transaction around every step: Alembic sees it and opens none of its own.
            with conn.begin():
                run(project.cfg, target)
                progress.finish()
                stop.raise_if_stopped()
                _record_success(conn, project, action, progress.applied[kept:], before, record)


def _record_success(
    conn: Connection,
    project: Project,
    action: str,
    applied: list[Any],
    before: revisions.DatabaseState,
    record: RunRecord,
) -> None:
    """History rows in the migration's own transaction (created with it when missing)."""
    files = alembic_ops.revision_files(project.script)
    rows: list[history.Row] = []
    if history.ensure(conn, project.version_schema) and before.current:
        # Applied before migrator kept history: recorded without checksum, never refused.
        rows += [
            history.Row(rev, "preexisting", None, None, None, True)
            for rev in alembic_ops.ancestors(project.script, before.current)
        ]
    if action == "stamp":
        rows += [_row(rev, "stamp", files, None, None, True) for rev in _state_in_transaction(conn, project).current]
    rows += [_row(a.revision, a.direction, files, a.started_at, a.duration_ms, True) for a in applied]
    history.record(conn, project.version_schema, record.run_id, rows)


def _summary(log: Any, before: tuple[str, ...], after: tuple[str, ...], applied: list[Any], started: float) -> None:
    log.info(
        "run.finished",
        from_revision=revisions.describe(before),
        to_revision=revisions.describe(after),
        migrations_applied=len(applied),
        revisions=[a.revision for a in applied],
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def check(session: Session, stdout: TextIO, wait_for_head: float | None) -> None:
    """Raise NotAtHead unless the database is at head; list what is pending on stdout."""
    settings, stop = session.settings, session.stop
    log = logs.get().bind(command="check")
    project = Project.load(settings, stdout)
    scripts = alembic_ops.script_state(project.script)
    deadline = time.monotonic() + (wait_for_head or 0.0)
    with connection(session) as conn:
        announced = False
        while True:
            state = alembic_ops.database_state(conn, project.version_table, project.version_schema)
            revisions.refuse_unknown(state, scripts)
            if revisions.is_at_head(state, scripts) and (state.has_version_table or not scripts.heads):
                stdout.write(f"at head: {revisions.describe(state.current)}\n")
                log.info("check.at_head", revision=revisions.describe(state.current))
                return
            todo = alembic_ops.pending(project.script, state)
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


def read_only(session: Session, stdout: TextIO, action: str, **options: Any) -> None:
    """``current`` / ``history`` / ``heads`` / ``create``: Alembic's own output on stdout."""
    settings = session.settings
    needs_db = action in ("current", "create") and not (action == "create" and options.get("empty"))
    needs_db = needs_db or bool(options.get("applied"))
    project = Project.load(settings, stdout, with_url=needs_db or settings.database_url is not None)
    with alembic_ops.translated_revision_errors():
        if action == "history" and options.get("applied"):
            with connection(session) as conn:
                history.print_applied(conn, project.version_schema, stdout)
                conn.rollback()
        elif action == "heads":
            alembic_ops.heads(project.cfg, options.get("verbose", False))
        elif action == "history" and settings.database_url is None:
            alembic_ops.history(project.cfg, options.get("rev_range"), options.get("verbose", False))
        elif action == "create" and options.get("empty"):
            _created(alembic_ops.create(project.cfg, options["message"], autogenerate=False))
        else:
            with connection(session) as conn:
                alembic_ops.attach(project.cfg, conn, None, per_migration=False)
                if action == "current":
                    alembic_ops.current(project.cfg, options.get("verbose", False))
                elif action == "history":
                    alembic_ops.history(project.cfg, options.get("rev_range"), options.get("verbose", False))
                else:
                    _created(alembic_ops.create(project.cfg, options["message"], autogenerate=True))
                conn.rollback()


def _created(paths: list[str]) -> None:
    for path in paths:
        logs.get().info("revision.created", path=path)


def wait_only(session: Session) -> None:
    with connection(session):
        pass
