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


EXIT_CODE_HELP: dict[ExitCode, str] = {
    ExitCode.OK: "success (also: nothing to do)",
    ExitCode.MIGRATION_FAILED: "a migration failed; the hint says what was committed before it",
    ExitCode.USAGE: "usage or configuration error (bad flag, no or malformed URL, "
    "missing alembic.ini, session lock not held behind a pooler)",
    ExitCode.DATABASE_UNAVAILABLE: "database unavailable within the wait timeout, "
    "or a connection error that retrying cannot fix",
    ExitCode.LOCK_TIMEOUT: "migration lock not acquired within the lock timeout",
    ExitCode.REVISION_STATE: "revision state error (unknown revision, several heads, unversioned non-empty database)",
    ExitCode.NOT_AT_HEAD: "check: the database is not at head",
    ExitCode.MODEL_DRIFT: "verify: the live database or the models differ from what the migrations build",
    ExitCode.LINT_FAILED: "lint: a rule fired on a migration's SQL",
    ExitCode.INTERNAL: "internal error in migrator outside any migration (a bug: run.crashed has the traceback)",
    ExitCode.INTERRUPTED: "interrupted by SIGINT (rolled back)",
    ExitCode.TERMINATED: "terminated by SIGTERM (rolled back)",
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

    def __init__(self, exit_code: ExitCode, message: str) -> None:
        super().__init__(message, hint="the transaction was rolled back; run again")
        self.exit_code = exit_code
