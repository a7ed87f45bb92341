"""The migration job: lock → re-read → refuse or migrate → remember head → release; and check.

The session (core/session.py) brings the connection, maybe with the lock already taken by
the light stage. Alembic owns the migration transactions, as under bare Alembic (one for
the whole run by default, one per migration with --transaction-per-migration), so an
``autocommit_block()`` commits what came before it exactly as Alembic documents. Each
revision's history row is written by the per-migration hook inside the transaction of its
version change: what is committed is recorded, whatever fails afterwards.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, NamedTuple, TextIO, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from migrator.core import checksums, lock, output, phases, plan, retry, revisions, state, urls
from migrator.core.errors import ConfigError, Interrupted, MigrationFailed, MigratorError, NotAtHead
from migrator.core.report import RunRecord
from migrator.core.run import Run
from migrator.core.session import Session
from migrator.engine import alembic_ops, backup, db, ddl, history, logs, own_waits
from migrator.engine.own_waits import OwnWaits
from migrator.engine.progress import Applied, Heartbeat, Progress
from migrator.engine.project import Project
from migrator.engine.transactions import TransactionWatch
from migrator.engine.watch import Watch

T = TypeVar("T")
__all__ = ["DowngradeJob", "Job", "StampJob", "UpgradeJob", "check", "create", "merge"]


@contextmanager
def migration_lock(session: Session, key: int) -> Iterator[None]:
    """Hold the migration lock on the session's connection for the block (maybe taken by the light stage)."""
    settings = session.settings
    started = time.monotonic()
    with db.translated_connection_errors():
        raw = session.connect()
        acquired_by = session.locked_by
        if acquired_by is None:
            acquired_by = lock.acquire(raw, key, settings.lock_timeout, session.stop, session.emitter)
            assert acquired_by is not None  # no `done` given: only a timeout or a signal ends the wait
            session.locked_by = acquired_by
        lock.verify_held(raw, key, acquired_by, session.credentials.for_attempt(urls.parse(settings.database_url)))
    waited_ms = round((time.monotonic() - started) * 1000)
    session.emitter.emit("lock.acquired", lock_key=key, waited_ms=waited_ms, backend_pid=acquired_by)
    try:
        yield
    finally:
        if not raw.closed:
            lock.release(raw, key, session.emitter)
        session.locked_by = None


class Expected(NamedTuple):
    """What a run must leave behind, checked against the version rows read at its end."""

    present: tuple[str, ...] = ()  # revisions the run applies
    absent: tuple[str, ...] = ()  # revisions the run reverts


class Job:
    """One upgrade, downgrade or stamp under the migration lock, and what its steps share.

    Its result is read, not assumed: the run ends by reading the version table and the history
    afresh, and it succeeds only when what it set out to apply (or revert) is there. The verbs
    differ only in the few steps their subclasses define.
    """

    name = ""  # the plan's word for the verb (core/plan.py) and the `command` field of the log
    verb: Callable[[Any, str], None] = staticmethod(alembic_ops.upgrade)
    backs_up = True  # the --backup-command runs before any change

    def __init__(self, run: Run, target: str) -> None:
        self.run_, self.session, self.settings, self.stop = run, run.session, run.settings, run.stop
        self.target, self.record = target, run.record
        self.log = logs.get().bind(command=self.name, target=target)
        self.project = Project.load(self.settings, run.stdout)
        # Every revision module and Alembic's map of them live as long as the run: out of the collector's
        # way, so its full collections during a long chain walk only what the migrations create.
        gc.freeze()
        self.files = self.project.files
        self.scripts = alembic_ops.script_state(self.project.script, self.files)
        self.sources = checksums.Sources(self.files, run.session.sources)
        self.writer = _HistoryWriter(self.project, self.record, self.sources)
        self.progress = Progress(self.stop, run.emitter.emit, self.writer)
        self.before = self.initial = state.Facts(None)  # initial: as the run found it, before a baseline or retry

    # The steps a verb may define.
    def prepare(self, conn: Connection) -> None:
        """Before the decision (upgrade: --baseline)."""

    def guard(self, conn: Connection) -> None:
        """After the decision, before any change (upgrade: refuse edited applied migrations)."""

    def scope(self, outcome: plan.Outcome) -> tuple[plan.Outcome, list[str]]:
        """What runs now, and the Alembic targets it runs to (upgrade: --phase expand)."""
        return outcome, [self.target]

    def expected(self, outcome: plan.Outcome) -> Expected:
        return Expected()

    def steps(self, outcome: plan.Outcome) -> int | None:
        """How many migrations Alembic will run, by its own walk (None: not known before it runs them)."""
        return None

    # The one sequence every verb runs.
    def run(self) -> None:
        project = self.project
        key = lock.key_for(self.settings.lock_key, project.version_table, project.version_schema)
        with migration_lock(self.session, key), db.connection(self.session) as conn:
            self.before = self.initial = project.read_state(conn)
            self.writer.before = self.before.current
            self.record.from_revision = self.record.to_revision = revisions.describe(self.before.current)
            try:
                after = self._locked(conn)
            except Interrupted as exc:
                self.stop.set_cancel(None)  # the watcher keeps cancelling: not the reads that explain the stop
                raise exc.explained(self.account(conn)) from exc.__cause__
            self._remember_head(conn, after)
        applied = [a.revision for a in self.progress.applied]
        self.run_.finished(self.initial.current, after.current, applied, command=self.name, target=self.target)

    def _locked(self, conn: Connection) -> state.Facts:
        """Under the lock: prepare, decide, guard, back up, apply; the state as read after."""
        self.prepare(conn)
        outcome = self.project.decide(self.name, self.target, self.before, self.scripts)
        if isinstance(outcome, plan.Refuse):
            raise outcome.error
        self.guard(conn)
        outcome, targets = self.scope(outcome)
        self.progress.expect(self.steps(outcome))
        if isinstance(outcome, plan.NothingToDo):
            self.run_.nothing_to_do(outcome.rows, outcome.reason, command=self.name, target=self.target)
            return self.before
        expected = self.expected(outcome)
        if self.settings.backup_command and self.backs_up:
            self._back_up(conn)
        try:
            self._run_with_retries(conn, targets)
        finally:
            after = _state_after(conn, self.project, self.before)
            self.record.to_revision = revisions.describe(after.current)
            self._note_applied()
        self._require(conn, expected, after)
        return after

    def _back_up(self, conn: Connection) -> None:
        settings = self.settings
        env = backup.environment(
            self.session.credentials.for_attempt(urls.parse(settings.database_url)),
            settings.backup_environment,
            self.record.from_revision or "",
            self.target,
        )
        backup.run(settings.backup_command or "", env, self.stop)

    def _require(self, conn: Connection, expected: Expected, after: state.Facts) -> None:
        """Exit 0 only at the target, as read: a run that ended short of it failed, whatever Alembic said."""
        applied = set(alembic_ops.ancestors(self.project.script, after.current)) if after.current else set()
        missing = [rev for rev in expected.present if rev not in applied]
        left = [rev for rev in expected.absent if rev in applied]
        if not missing and not left:
            return
        _keep_committed(conn, self.project, self.progress, self.record)
        self._note_applied()
        not_done = missing or left
        self.log.warning("migration.not_committed", revisions=not_done)
        verb = "applied" if missing else "reverted"
        raise MigrationFailed(
            f"the run ended short of its target {self.target}: the database is at "
            f"{revisions.describe(after.current)} as read afterwards, {len(not_done)} migration(s) not {verb} "
            f"({_listed(not_done)})",
            hint="Alembic ran them, but their transaction was never committed: a revision ended the transaction "
            "itself (op.get_bind().commit(), a COMMIT) or env.py did not commit it; put statements that must run "
            "outside a transaction in `with op.get_context().autocommit_block():`. " + self.account(conn),
        )

    def _note_applied(self) -> None:
        self.record.applied = [{"revision": a.revision, "duration_ms": a.duration_ms} for a in self.progress.applied]

    def account(self, conn: Connection) -> str:
        """What is committed now, read from the database (for every hint of a run that did not finish)."""
        return _state_after_failure(conn, self.project, self.initial, self.record, self.progress.partly_committed)

    def _remember_head(self, conn: Connection, after: state.Facts) -> None:
        """At head now: record these files' fingerprint, so the next runs decide without the engine."""
        project = self.project
        if not project.at_every_head(after):
            return  # only at every head (Alembic's `heads`) does the record answer `head` and `heads`
        fingerprint = project.fingerprint(self.session.fingerprint)
        if fingerprint is None:
            self.log.debug("fast_path.not_recorded", reason="the light stage does not read the locations Alembic uses")
            return
        table = state.qualified(project.version_table, project.version_schema)
        try:
            with conn.begin():
                head = state.Recorded(fingerprint, self.scripts.heads, after.current)
                history.record_head(conn, project.version_schema, table, head, self.record.run_id)
        except DBAPIError as exc:  # bookkeeping only: the next run takes the full stage again
            self.log.warning("fast_path.not_recorded", reason=db.error_text(exc))

    def _run_with_retries(self, conn: Connection, targets: list[str]) -> None:
        """Run the command; when a statement gave up waiting for a lock, retry from where the database is."""
        settings, progress, writer = self.settings, self.progress, self.writer
        ddl.set_timeouts(conn, settings.ddl_lock_timeout, settings.statement_timeout)
        backend_pid = int(conn.exec_driver_sql("select pg_backend_pid()").scalar_one())
        conn.commit()
        blockers, tries = ddl.Blockers(backend_pid), 0
        failed: tuple[str, str, datetime] | None = None  # the step that was running when the last attempt failed

        def attempt(_remaining: float) -> None:
            nonlocal blockers, failed, tries
            tries += 1
            if tries > 1:
                self.before = self.project.read_state(conn)  # retry from where the database is
            blockers = ddl.Blockers(backend_pid)
            heartbeat = Heartbeat(backend_pid, progress.current, settings.heartbeat_interval)
            own = OwnWaits(backend_pid, patience=settings.ddl_lock_timeout)
            watch = Watch(
                conn.engine.url,
                [blockers.observe, heartbeat.observe, own.observe],
                interval=0.2,
                grace=min(0.5, settings.ddl_lock_timeout / 2),
            )
            try:
                try:
                    with watch, progress, own_waits.tagged():
                        self._run(conn, targets)
                finally:
                    writer.close()
            except MigrationFailed as exc:
                writer.table_known = False
                failed = progress.abandon()
                _keep_committed(conn, self.project, progress, self.record)
                _record_failure(conn, self.project, self.record, failed)
                if own.cancelled is None:
                    raise
                raise own.explained(exc, failed[0] if failed else None) from exc.__cause__

        def lock_timeout(next_try: retry.Retry) -> None:
            self.log.warning(
                "migration.lock_timeout",
                attempt=next_try.attempt,
                retry_in_ms=round(next_try.delay * 1000),
                revision=failed[0] if failed else None,
                blockers=[b.describe() for b in blockers.seen],
            )

        # Only lock timeouts, MIGRATOR_DDL_RETRIES more times, 0.5 s doubling to 10 s, plus up to 0.25 s.
        backoff = retry.Backoff(first=0.5, cap=10.0, jitter=0.25)
        attempts = settings.ddl_retries + 1
        policy = retry.Policy(MigrationFailed, backoff, attempts=attempts, retryable=ddl.is_lock_timeout)
        try:
            retry.call(attempt, policy, self.stop, lock_timeout)
        except retry.GaveUp as gave_up:
            error = gave_up.error
            assert isinstance(error, MigrationFailed)
            raise _with_blockers(error, blockers.seen, settings.ddl_lock_timeout, gave_up.attempts) from error.__cause__

    def _run(self, conn: Connection, targets: list[str]) -> None:
        """One Alembic verb on the locked connection; Alembic opens and commits the transactions."""
        project, progress = self.project, self.progress
        if conn.in_transaction():
            conn.commit()
        watch = TransactionWatch(self.writer.flush)
        hooks = project.hooks(
            conn, self.settings.transaction_per_migration, [progress.on_version_apply, watch.on_version_apply]
        )
        hooks.stop = self.stop

        with (
            alembic_ops.driving(project.cfg, project.script, hooks),
            alembic_ops.translated_migration_errors(
                self.stop, lambda: self.account(conn), project.script, progress.running
            ),
        ):
            with progress.noting_commits(conn):
                for target in targets:  # one, or with --phase expand the heads of what may run before the rollout
                    self.verb(project.cfg, target)
                    if hooks.began_before_configure and conn.in_transaction():
                        conn.commit()  # Alembic left env.py's transaction to its caller: the run is it
            progress.finish()


class UpgradeJob(Job):
    name = "upgrade"
    verb = staticmethod(alembic_ops.upgrade)

    def prepare(self, conn: Connection) -> None:
        """--baseline REV: a database built without migrations is stamped at REV first."""
        if self.settings.baseline:
            self.before = self._baseline(conn, self.settings.baseline)

    def guard(self, conn: Connection) -> None:
        accepted = self.project.changed_since_applied(conn, self.settings.allow_changed)
        if accepted:
            with conn.begin():
                now = datetime.now(UTC)
                rows = [_row(rev, "accepted", self.sources, now, 0, True) for rev in accepted]
                history.record(conn, self.project.version_schema, self.record.run_id, rows)
            self.log.warning("checksum.change_accepted", revisions=accepted)

    def scope(self, outcome: plan.Outcome) -> tuple[plan.Outcome, list[str]]:
        scoped = plan.scope(self.settings.phase, outcome, self.target, self.before.current, self.project.steps)
        if scoped.held:
            held = [rev for rev, _ in scoped.held]
            self.log.info("phase.held_back", phase="expand", revisions=held, hint=plan.HELD_HINT)
        return scoped.outcome, list(scoped.targets)

    def expected(self, outcome: plan.Outcome) -> Expected:
        return (
            Expected(present=tuple(rev for rev, _ in outcome.pending)) if isinstance(outcome, plan.Work) else Expected()
        )

    def steps(self, outcome: plan.Outcome) -> int | None:
        return len(outcome.pending) if isinstance(outcome, plan.Work) else None

    def _baseline(self, conn: Connection, revision: str) -> state.Facts:
        """An existing database built without migrations: stamp it at ``revision``, then go on."""
        project, before = self.project, self.before
        if before.has_version_table or not before.other_tables:
            return before
        with (
            alembic_ops.translated_revision_errors(project.script),
            alembic_ops.driving(project.cfg, project.script, project.hooks(conn)),
            conn.begin(),
        ):
            started_at, started = datetime.now(UTC), time.monotonic()
            alembic_ops.stamp(project.cfg, revision)
            took = round((time.monotonic() - started) * 1000)
            after = project.read_state(conn, commit=False)
            history.ensure(conn, project.version_schema)
            rows = [_row(rev, "baseline", self.sources, started_at, took, True) for rev in after.current]
            history.record(conn, project.version_schema, self.record.run_id, rows)
        self.log.info("run.baselined", revision=revisions.describe(after.current), tables=len(before.other_tables))
        return project.read_state(conn)


class DowngradeJob(Job):
    name = "downgrade"
    verb = staticmethod(alembic_ops.downgrade)

    @cached_property
    def _walk(self) -> list[tuple[str, str]] | MigratorError:
        """Alembic's walk from the rows as found to the target, once: the guard, the count and the expected end."""
        return alembic_ops.reverting_or_error(self.project.script, self.target, self.before.current)

    def guard(self, conn: Connection) -> None:
        if isinstance(self._walk, alembic_ops.AmbiguousAtMerge):
            raise self._walk  # before any backup or work: which parent is the user's to say

    @property
    def _reverting(self) -> list[tuple[str, str]] | None:
        reverted = self._walk
        if isinstance(reverted, list):
            return reverted
        logs.get().debug("migration.total_unknown", reason=reverted.message)  # Alembic reports it when it runs
        return None

    def expected(self, outcome: plan.Outcome) -> Expected:
        reverted = self._reverting
        return Expected(absent=tuple(rev for rev, _ in reverted)) if reverted is not None else Expected()

    def steps(self, outcome: plan.Outcome) -> int | None:
        reverted = self._reverting if isinstance(outcome, plan.Work) else None
        return len(reverted) if reverted is not None else None


class StampJob(Job):
    name = "stamp"
    backs_up = False  # records a revision; changes no schema
    purge = False  # --purge: the version table emptied first (rows naming revisions whose files are gone)

    def verb(self, cfg: Any, target: str) -> None:
        alembic_ops.stamp(cfg, target, purge=self.purge)


def _listed(revs: Sequence[str], shown: int = 5) -> str:
    more = f", … {len(revs) - shown} more" if len(revs) > shown else ""
    return ", ".join(revs[:shown]) + more


def _state_after(conn: Connection, project: Project, before: state.Facts) -> state.Facts:
    """The state after a run, if the connection still works; a failure must not hide the first error."""
    try:
        return _read_anyhow(conn, lambda c: _facts(c, project))
    except DBAPIError:
        return before


class _HistoryWriter:
    """History rows in the transaction of their version change, one batched INSERT per transaction.

    Rows wait in a buffer and are written on the migrating connection just before that
    connection commits (SQLAlchemy's ``commit`` event: Alembic's commit at the end of the run,
    of each migration with --transaction-per-migration, or before an autocommit_block());
    a rollback drops them with the work they describe. The table is created in the same
    transaction when missing, so a run rolled back or killed leaves nothing of migrator behind.
    """

    def __init__(self, project: Project, record: RunRecord, sources: checksums.Sources) -> None:
        self.project, self.record, self.sources = project, record, sources
        self.before: tuple[str, ...] = ()
        self.table_known = False  # reset after a failure: the transaction that created it may be gone
        self.pending: list[history.Row] = []
        self.listening: Connection | None = None

    def __call__(self, connection: Connection, entries: list[Any]) -> None:
        self._listen(connection)
        self.pending += [
            _row(e.revision, e.direction, self.sources, e.started_at, e.duration_ms, True)
            if isinstance(e, Applied)
            else _row(e, "stamp", self.sources, datetime.now(UTC), 0, True)  # a version row written, no work run
            for e in entries
        ]

    def _listen(self, connection: Connection) -> None:
        if self.listening is connection:
            return
        self.close()
        event.listen(connection, "commit", self.flush)
        event.listen(connection, "rollback", self._drop)
        self.listening = connection

    def close(self) -> None:
        if self.listening is not None:
            event.remove(self.listening, "commit", self.flush)
            event.remove(self.listening, "rollback", self._drop)
            self.listening = None

    def flush(self, connection: Connection) -> None:
        """Write the buffered rows on ``connection`` (just before it commits, or once a revision committed them)."""
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        schema = self.project.version_schema
        if not self.table_known:
            if history.ensure(connection, schema) and self.before:
                # Applied before migrator kept history: recorded without checksum, never refused.
                rows = [
                    history.Row(rev, "preexisting", None, None, None, True)
                    for rev in alembic_ops.ancestors(self.project.script, self.before)
                ] + rows
            self.table_known = True
        history.record(connection, schema, self.record.run_id, rows)

    def _drop(self, _connection: Connection) -> None:
        self.pending = []


def _row(
    revision: str,
    direction: str,
    sources: checksums.Sources,
    started_at: datetime | None,
    duration_ms: int | None,
    success: bool,
) -> history.Row:
    return history.Row(revision, direction, sources.of(revision), started_at, duration_ms, success)


def _keep_committed(conn: Connection, project: Project, progress: Progress, record: RunRecord) -> None:
    """After a failure, only the steps whose history rows were committed count as applied."""
    try:
        if conn.in_transaction():
            conn.rollback()
        committed = history.committed_in_run(conn, project.version_schema, record.run_id)
        conn.commit()
    except DBAPIError:
        return
    progress.keep_only(committed)


def _with_blockers(
    exc: MigrationFailed, seen: list[ddl.Blocker], lock_timeout: float, attempts: int
) -> MigrationFailed:
    if not ddl.is_lock_timeout(exc):
        return exc
    who = "; ".join(b.describe() for b in seen) or "a session that had gone by the time we looked"
    return MigrationFailed(
        f"{exc.message.partition(' failed')[0]} could not get its lock within {lock_timeout:g}s in {attempts} "
        f"tries; blocked by {who}",
        hint="the blocking session holds a conflicting lock (often an open transaction); end it or retry later "
        f"(MIGRATOR_DDL_LOCK_TIMEOUT, MIGRATOR_DDL_RETRIES); {exc.hint}",
    )


def _record_failure(
    conn: Connection, project: Project, record: RunRecord, failed: tuple[str, str, datetime] | None
) -> None:
    if failed is None:
        return
    revision, direction, started_at = failed
    record.failed_revision = revision
    try:
        if conn.in_transaction():
            conn.rollback()
        with conn.begin():
            history.ensure(conn, project.version_schema)
            duration = round((datetime.now(UTC) - started_at).total_seconds() * 1000)
            row = _row(revision, direction, checksums.Sources(project.files), started_at, duration, False)
            history.record(conn, project.version_schema, record.run_id, [row])
    except DBAPIError as exc:  # the connection is gone; the failure itself is reported either way
        logs.get().debug("history.not_recorded", revision=revision, reason=db.error_text(exc))


def _state_after_failure(
    conn: Connection, project: Project, before: state.Facts, record: RunRecord, partly_committed: list[str]
) -> str:
    """The hint's account of the database, read again after the failure (never assumed); ``before`` is
    the database as this run found it."""
    try:
        now, committed = _read_anyhow(conn, lambda c: _read_after(c, project, record.run_id))
    except DBAPIError:
        return (
            f"the database was at {revisions.describe(before.current)} before the run; "
            "its state could not be read after the failure: check with `migrator current`"
        )
    partly = [revision for revision in partly_committed if revision not in committed]
    if now.current == before.current and not committed:
        return f"rolled back; the database is still at {revisions.describe(before.current)}" + _partly(partly)
    if not committed:
        return (
            f"no migration was committed, but the database is now at {revisions.describe(now.current)} (it was at "
            f"{revisions.describe(before.current)} when the run began: a stamp, such as --baseline, is committed)"
            + _partly(partly)
        )
    return (
        f"{len(committed)} migration(s) were committed before the failure ({_listed(committed)}); "
        f"the database is now at {revisions.describe(now.current)}" + _partly(partly)
    )


def _facts(conn: Connection, project: Project) -> state.Facts:
    if conn.in_transaction():
        conn.rollback()
    return project.read_state(conn)


def _read_after(conn: Connection, project: Project, run_id: str) -> tuple[state.Facts, list[str]]:
    """The version rows and what this run committed, read now."""
    now = _facts(conn, project)
    committed = history.committed_in_run(conn, project.version_schema, run_id)
    conn.commit()
    return now, committed


def _read_anyhow(conn: Connection, read: Callable[[Connection], T]) -> T:
    """``read`` on the run's connection, or, when that one is lost, on a fresh short-lived one: what a
    hint says of the database is read from it, even after the connection went (the lock went with it)."""
    try:
        return read(conn)
    except DBAPIError as exc:
        if not exc.connection_invalidated and not conn.closed and not conn.invalidated:
            raise
    engine = db.make_engine(conn.engine.url)
    try:
        with engine.connect() as fresh:
            return read(fresh)
    finally:
        engine.dispose()


def _partly(steps: list[str]) -> str:
    if not steps:
        return ""
    return (
        f"; but {', '.join(steps)} committed part of its work itself first (an autocommit_block, e.g. a "
        "migrator.online helper): that part stays, and the next run runs it again from the top, which succeeds "
        "only if what it committed can run twice (IF NOT EXISTS, a resumable backfill); otherwise undo that part "
        "by hand or make the step idempotent before running again"
    )


def check(session: Session, stdout: TextIO, target: str, wait_for_head: float | None, fmt: str = "text") -> None:
    """Raise NotAtHead unless the database is at the target; refuse (5) what `upgrade` would refuse."""
    settings, stop = session.settings, session.stop
    log = logs.get().bind(command="check")
    project = Project.load(settings, stdout)
    scripts = alembic_ops.script_state(project.script)
    with db.connection(session) as conn:
        last: tuple[tuple[str, ...], Sequence[tuple[str, str]]] = ((), ())  # the rows and pending steps as last read

        def at_target(_remaining: float) -> None:
            """One look: at the target (said on stdout), refused, or NotAtHead (retried until the deadline)."""
            nonlocal last
            facts = project.read_state(conn)
            outcome = project.decide("check", target, facts, scripts)
            if isinstance(outcome, plan.Refuse):
                raise outcome.error
            todo = outcome.pending if isinstance(outcome, plan.Work) else ()
            contract = _contract_only(project, todo) if settings.phase == "expand" else None
            if isinstance(outcome, plan.NothingToDo) or contract is not None:
                project.changed_since_applied(conn, settings.allow_changed)
                rows = tuple(sorted(facts.current))
                output.at_target(stdout, fmt, target, rows, contract or ())
                held = [rev for rev, _ in contract or ()]
                log.info("check.at_head", revision=revisions.describe(rows), target=target, contract_pending=held)
                return
            last = facts.current, todo
            raise NotAtHead(
                f"the database is at {revisions.describe(facts.current)}, not at {target} "
                f"{revisions.describe(scripts.heads)}: {len(todo)} migration(s) pending",
                hint="run `migrator upgrade`" + ("" if target == "head" else f" {target}"),
            )

        def waiting(next_look: retry.Retry) -> None:
            if next_look.attempt == 1:  # said once, not every half second
                log.info("check.waiting_for_head", current=revisions.describe(last[0]), pending=len(last[1]))

        # Every half second until --wait-for-head has passed (without it: one look); a signal ends the wait.
        policy = retry.Policy(NotAtHead, retry.Backoff(first=0.5, cap=0.5), timeout=wait_for_head or 0.0)
        try:
            retry.call(at_target, policy, stop, waiting)
        except retry.GaveUp as gave_up:
            output.not_at_target(stdout, fmt, target, *last)
            raise gave_up.error from None


def _contract_only(project: Project, pending: Sequence[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The pending steps when every one is held back for the contract phase; None otherwise."""
    if not pending:
        return None
    expandable, held = phases.split(project.steps(pending))
    return None if expandable else [(rev, message) for rev, message in pending if rev in held]


def create(session: Session, stdout: TextIO, message: str, empty: bool) -> None:
    """Write a new revision file: autogenerated against the database unless ``empty``."""
    if not message.strip():
        raise ConfigError(
            "a revision needs a message (it names the file and heads its docstring)",
            hint='migrator create "add nickname to users"',
        )
    settings = session.settings
    project = Project.load(settings, stdout, with_url=not empty or settings.database_url is not None)
    with alembic_ops.translated_revision_errors(project.script):
        if empty:
            _created(alembic_ops.create(project.cfg, project.script, message, autogenerate=False))
            return
        with db.connection(session) as conn:
            _autogenerate(project, conn, message)
            conn.rollback()


def merge(session: Session, stdout: TextIO, heads: list[str], message: str) -> None:
    """Write a revision that merges ``heads`` (default: every head)."""
    project = Project.load(session.settings, stdout, with_url=session.settings.database_url is not None)
    with alembic_ops.translated_revision_errors(project.script):
        _created(alembic_ops.merge(project.cfg, project.script, heads, message))


def _autogenerate(project: Project, conn: Connection, message: str) -> None:
    """`create`: log what autogenerate detected; with nothing detected, write nothing and say so."""
    log = logs.get()

    def review(generated: Any) -> bool:
        diffs = [d for ops in generated.upgrade_ops_list for d in ops.as_diffs()]
        for diff in diffs:
            log.info("revision.change_detected", change=_describe_diff(diff))
        return not diffs

    hooks = project.hooks(conn)
    hooks.review_generated = review
    with alembic_ops.driving(project.cfg, project.script, hooks):
        written = alembic_ops.create(project.cfg, project.script, message, autogenerate=True)
    if not written:
        log.warning(
            "revision.not_written",
            reason="autogenerate detected no difference between the models and the database",
            hint=f'to write a revision by hand anyway: migrator create "{message}" --empty',
        )
    _created(written)


def _describe_diff(diff: Any) -> str:
    """One autogenerate diff, e.g. 'add_column users.nickname' (Alembic's tuples, shortened)."""
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(_describe_diff(d) for d in diff)
    kind, *rest = diff
    names = [getattr(x, "name", None) or str(x) for x in rest if x is not None and not isinstance(x, (dict, bool))]
    return f"{kind} {' '.join(str(n) for n in names[:3])}".strip()


def _created(paths: list[str]) -> None:
    for path in paths:
        logs.get().info("revision.created", path=path)
