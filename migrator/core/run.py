"""One command's run: what every verb is handed, and the only writer of how the run ended.

``run.finished`` and ``run.nothing_to_do`` are written here and nowhere else, from the
revisions as read from the database by the caller (never from what the code expected);
the report and the exit code are the CLI's, from the same Run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TextIO

from migrator.core import revisions
from migrator.core.events import Emitter
from migrator.core.report import RunRecord
from migrator.core.session import Session
from migrator.core.settings import Settings
from migrator.core.signals import Stop


class Run:
    """The session (settings, signals, emitter, connection), stdout for results, the run's record."""

    def __init__(self, session: Session, stdout: TextIO, record: RunRecord) -> None:
        self.session, self.stdout, self.record = session, stdout, record

    @property
    def settings(self) -> Settings:
        return self.session.settings

    @property
    def stop(self) -> Stop:
        return self.session.stop

    @property
    def emitter(self) -> Emitter:
        return self.session.emitter

    def nothing_to_do(self, rows: Sequence[str], reason: str = "at the target", **fields: Any) -> None:
        self.emitter.emit("run.nothing_to_do", revision=revisions.describe(tuple(rows)), reason=reason, **fields)

    def finished(self, before: Sequence[str], after: Sequence[str], applied: Sequence[str], **fields: Any) -> None:
        """The run's last line: from and to as read from the database, what was applied and committed."""
        self.record.from_revision = revisions.describe(tuple(before))
        self.record.to_revision = revisions.describe(tuple(after))
        self.emitter.emit(
            "run.finished",
            from_revision=self.record.from_revision,
            to_revision=self.record.to_revision,
            migrations_applied=len(applied),
            revisions=list(applied),
            duration_ms=round((time.monotonic() - self.session.started) * 1000),  # from the process's start
            **fields,
        )
