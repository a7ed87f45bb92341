"""Exit codes: a stable contract for operators and orchestrators."""

from __future__ import annotations

import pytest

from migrator.core.errors import (
    EXIT_CODE_HELP,
    ConfigError,
    DatabaseUnavailable,
    ExitCode,
    Interrupted,
    LockNotHeld,
    LockTimeout,
    MigrationFailed,
    MigratorError,
    NotAtHead,
    RevisionStateError,
)


def test_exit_code_values_are_fixed() -> None:
    """Scripts and Kubernetes policies depend on these numbers; they never change."""
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "MIGRATION_FAILED": 1,
        "USAGE": 2,
        "DATABASE_UNAVAILABLE": 3,
        "LOCK_TIMEOUT": 4,
        "REVISION_STATE": 5,
        "NOT_AT_HEAD": 6,
        "MODEL_DRIFT": 7,
        "LINT_FAILED": 8,
        "INTERNAL": 70,
        "INTERRUPTED": 130,
        "TERMINATED": 143,
    }


def test_every_exit_code_has_help_text() -> None:
    """--help documents each code, in order, with a non-empty text."""
    assert list(EXIT_CODE_HELP) == list(ExitCode)
    assert [code for code, text in EXIT_CODE_HELP.items() if not text.strip()] == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (MigratorError, ExitCode.MIGRATION_FAILED),
        (ConfigError, ExitCode.USAGE),
        (DatabaseUnavailable, ExitCode.DATABASE_UNAVAILABLE),
        (MigrationFailed, ExitCode.MIGRATION_FAILED),
        (LockTimeout, ExitCode.LOCK_TIMEOUT),
        (LockNotHeld, ExitCode.USAGE),
        (RevisionStateError, ExitCode.REVISION_STATE),
        (NotAtHead, ExitCode.NOT_AT_HEAD),
    ],
)
def test_each_error_carries_its_exit_code(error: type[MigratorError], code: ExitCode) -> None:
    """The exception says how the process ends, with its message and hint."""
    raised = error("what went wrong", hint="what to do")
    assert (raised.exit_code, raised.message, raised.hint, str(raised)) == (
        code,
        "what went wrong",
        "what to do",
        "what went wrong",
    )


@pytest.mark.parametrize("code", [ExitCode.INTERRUPTED, ExitCode.TERMINATED])
def test_interrupted_carries_the_signal_exit_code(code: ExitCode) -> None:
    """A signal's exit code is 128 + its number; the hint claims no rollback until one was read."""
    raised = Interrupted(code, "interrupted by a signal")
    assert (raised.exit_code, raised.message, raised.hint) == (
        code,
        "interrupted by a signal",
        "the running statement was cancelled; check with `migrator current`",
    )
    explained = raised.explained("rolled back; the database is still at a1")
    assert (explained.exit_code, explained.message, explained.hint) == (
        code,
        "interrupted by a signal",
        "rolled back; the database is still at a1; run again",
    )
