"""Exit codes (a stable contract) and the exception carrying each one."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    MIGRATION_FAILED = 1
    USAGE = 2
    DATABASE_UNAVAILABLE = 3
    LOCK_TIMEOUT = 4
    REVISION_STATE = 5
    NOT_AT_HEAD = 6
    MODEL_DRIFT = 7
    LINT_FAILED = 8
    INTERNAL = 70
    INTERRUPTED = 130
    TERMINATED = 143


# The one wording of the exit codes: `migrator --help` prints it, the README's table is checked against it.
EXIT_CODE_HELP: dict[ExitCode, str] = {
    ExitCode.OK: "success (also: nothing to do)",
    ExitCode.MIGRATION_FAILED: "a migration failed, or the run ended short of its target for any other reason (a "
    "revision that commits itself, `sys.exit()` in env.py or a revision): the hint (and the report) say what is "
    "committed, as read from the database afterwards",
    ExitCode.USAGE: "usage or configuration error: unknown flag, no or malformed database URL, missing or malformed "
    "`alembic.ini`, a revision file that does not load (named), an `env.py` that disagrees with `alembic.ini` on "
    "the version table or drives an asyncio engine, a blank `create` message, or the session lock is not held by "
    "our backend (a transaction-pooling PgBouncer in between)",
    ExitCode.DATABASE_UNAVAILABLE: "database unavailable: not reachable within the wait timeout, a connection error "
    "that retrying cannot fix (wrong password, no such database), or the connection lost (the hint says what is "
    "committed)",
    ExitCode.LOCK_TIMEOUT: "migration lock not acquired within the lock timeout",
    ExitCode.REVISION_STATE: "revision state error: the database names a revision the code does not know (database "
    "ahead of the code), several heads when the target is `head`, an unknown target, a database with tables but no "
    "version table, an applied migration edited since (`upgrade` and `check` alike)",
    ExitCode.NOT_AT_HEAD: "`check`: the database is not at the target",
    ExitCode.MODEL_DRIFT: "`verify`: the models or the live database differ from what the migrations build",
    ExitCode.LINT_FAILED: "`lint`: a rule fired on a migration's SQL",
    ExitCode.INTERNAL: "internal error in migrator outside any migration (a bug): `run.crashed` carries the "
    "traceback; the Job fails for good",
    ExitCode.INTERRUPTED: "interrupted by SIGINT, whatever the command: the running statement was cancelled; the hint "
    "says what is committed, as read from the database after the cancel",
    ExitCode.TERMINATED: "terminated by SIGTERM, whatever the command: the running statement was cancelled; the hint "
    "says what is committed, as read from the database after the cancel",
}


class MigratorError(Exception):
    """A failure with its exit code and the next step for the operator."""

    exit_code: ExitCode = ExitCode.MIGRATION_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(MigratorError):
    exit_code = ExitCode.USAGE


class DatabaseUnavailable(MigratorError):
    exit_code = ExitCode.DATABASE_UNAVAILABLE


class MigrationFailed(MigratorError):
    exit_code = ExitCode.MIGRATION_FAILED


class LockTimeout(MigratorError):
    exit_code = ExitCode.LOCK_TIMEOUT


class LockNotHeld(MigratorError):
    """The session lock is not held by our backend (transaction pooler)."""

    exit_code = ExitCode.USAGE


class RevisionStateError(MigratorError):
    exit_code = ExitCode.REVISION_STATE


class NotAtHead(MigratorError):
    exit_code = ExitCode.NOT_AT_HEAD


class ModelDrift(MigratorError):
    exit_code = ExitCode.MODEL_DRIFT


class LintFailed(MigratorError):
    exit_code = ExitCode.LINT_FAILED


class Interrupted(MigratorError):
    """A signal ended the run; the code is 128 + the signal number."""

    def __init__(self, exit_code: ExitCode, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "the running statement was cancelled; check with `migrator current`")
        self.exit_code = exit_code

    def explained(self, account: str) -> Interrupted:
        """The same stop, with the hint read from the database after the cancel."""
        return Interrupted(self.exit_code, self.message, hint=f"{account}; run again")
