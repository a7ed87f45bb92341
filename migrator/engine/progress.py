"""Per-migration events: started (from Alembic's step log) and applied (on_version_apply)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

from migrator.core.signals import Stop
from migrator.engine import logs

_ALEMBIC_STEP_LOGGER = "alembic.runtime.migration"


@dataclass
class Applied:
    revision: str
    message: str
    direction: str
    duration_ms: int
    started_at: datetime


class Progress:
    """Turns Alembic's per-step signals into ``migration.started`` / ``migration.applied``."""

    def __init__(self, stop: Stop, write: Callable[[Any, list[Any]], None] | None = None) -> None:
        self.stop = stop
        self.write = write  # history rows, on the migrating connection, in the step's own transaction
        self.applied: list[Applied] = []
        # Steps that committed part of their own work while running (an autocommit_block, e.g. a
        # migrator.online helper): that part stays whatever fails later, even if the step does not.
        self.partly_committed: list[str] = []
        self._log = logs.get()
        self._running: tuple[str, str, str, float, datetime] | None = None
        self._mark = time.monotonic()
        self._filter = _StepFilter(self)

    def __enter__(self) -> Progress:
        logger = logging.getLogger(_ALEMBIC_STEP_LOGGER)
        self._saved_level = logger.level
        logger.setLevel(min(logging.INFO, logger.getEffectiveLevel()))  # we need its step lines
        logger.addFilter(self._filter)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger(_ALEMBIC_STEP_LOGGER)
        logger.removeFilter(self._filter)
        logger.setLevel(self._saved_level)

    def started(self, revision: str, message: str, direction: str) -> None:
        self._finish()  # env.py without on_version_apply: the next start ends the last one
        self._running = (revision, message, direction, time.monotonic(), datetime.now(UTC))
        self._log.info("migration.started", revision=revision, message=message, direction=direction)

    def on_version_apply(self, *, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        """Alembic's documented hook, called after each step (inside its transaction)."""
        if step.is_stamp:
            if self.write is not None:
                self.write(ctx.connection, sorted(heads))
        else:
            if self._running is None:  # Alembic's INFO line was filtered out by the log level
                direction = "upgrade" if step.is_upgrade else "downgrade"
                doc = (getattr(step.up_revision, "doc", "") or "").strip()
                self._running = (step.up_revision_id, doc, direction, self._mark, datetime.now(UTC))
            self._finish()
            if self.write is not None:
                self.write(ctx.connection, [self.applied[-1]])
        self.stop.raise_if_stopped()

    @contextmanager
    def noting_commits(self, connection: Connection) -> Iterator[None]:
        """While Alembic runs: a commit in the middle of a step is an autocommit_block committing part of it
        (Alembic's own commits come between steps, once the step's on_version_apply has finished it)."""
        event.listen(connection, "commit", self._committed)
        try:
            yield
        finally:
            event.remove(connection, "commit", self._committed)

    def _committed(self, _connection: Connection) -> None:
        revision = self.running()
        if revision is not None and revision not in self.partly_committed:
            self.partly_committed.append(revision)

    def running(self) -> str | None:
        """The revision being applied or reverted right now, if any."""
        return self._running[0] if self._running else None

    def finish(self) -> None:
        self._finish()

    def abandon(self) -> tuple[str, str, datetime] | None:
        """The step that was running when the attempt failed: (revision, direction, started_at)."""
        running, self._running = self._running, None
        return (running[0], running[2], running[4]) if running else None

    def keep_only(self, committed: list[str]) -> None:
        """After a failure: only the steps whose work was committed stay applied (read from the database)."""
        left = list(committed)
        kept: list[Applied] = []
        for applied in self.applied:
            if applied.revision in left:
                left.remove(applied.revision)
                kept.append(applied)
        self.applied = kept

    def _finish(self) -> None:
        if self._running is None:
            return
        revision, message, direction, started, started_at = self._running
        self._running = None
        self._mark = time.monotonic()
        duration_ms = round((self._mark - started) * 1000)
        self.applied.append(Applied(revision, message, direction, duration_ms, started_at))
        self._log.info(
            "migration.applied", revision=revision, message=message, direction=direction, duration_ms=duration_ms
        )


class _StepFilter(logging.Filter):
    """Alembic logs ``Running <step>`` before each step; replace it with a structured event."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def filter(self, record: logging.LogRecord) -> bool:
        step = record.args[0] if record.msg == "Running %s" and isinstance(record.args, tuple) else None
        script = getattr(step, "revision", None)
        revision = getattr(script, "revision", None)
        if not isinstance(revision, str):
            # Its other INFO lines ("Context impl", "Will assume transactional DDL") are noise.
            return record.levelno > logging.INFO or logging.getLogger().isEnabledFor(logging.DEBUG)
        direction = "upgrade" if getattr(step, "is_upgrade", True) else "downgrade"
        self.progress.started(revision, (getattr(script, "doc", "") or "").strip(), direction)
        return False
