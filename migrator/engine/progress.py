"""Per-migration events: started (from Alembic's step log, with its position in the run) and applied
(on_version_apply)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


@dataclass(frozen=True)
class Step:
    """The migration running now: ``position`` of ``total`` in this run (``total`` None when not known)."""

    revision: str
    message: str
    direction: str
    started: float  # time.monotonic()
    started_at: datetime
    position: int
    total: int | None


class Progress:
    """Turns Alembic's per-step signals into ``migration.started`` / ``migration.applied``."""

    def __init__(self, stop: Stop, write: Callable[[Any, list[Any]], None] | None = None) -> None:
        self.stop = stop
        self.write = write  # history rows, on the migrating connection, in the step's own transaction
        self.applied: list[Applied] = []
        self.total: int | None = None  # the steps Alembic will run, once the decision knows them
        self._log = logs.get()
        self._running: Step | None = None
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

    def expect(self, total: int | None) -> None:
        """The number of steps Alembic will run (None: not known before it runs them)."""
        self.total = total

    def started(self, revision: str, message: str, direction: str) -> None:
        self._finish()  # env.py without on_version_apply: the next start ends the last one
        step = self._step(revision, message, direction, time.monotonic())
        self._running = step
        counted = {"total": step.total} if step.total is not None else {}
        self._log.info(
            "migration.started",
            revision=revision,
            message=message,
            direction=direction,
            position=step.position,
            **counted,
        )

    def _step(self, revision: str, message: str, direction: str, started: float) -> Step:
        """After a retry only the committed steps stay applied, so the position counts from them."""
        position = len(self.applied) + 1
        total = self.total if self.total is not None and position <= self.total else None
        return Step(revision, message, direction, started, datetime.now(UTC), position, total)

    def on_version_apply(self, *, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        """Alembic's documented hook, called after each step (inside its transaction)."""
        if step.is_stamp:
            if self.write is not None:
                self.write(ctx.connection, sorted(heads))
        else:
            if self._running is None:  # Alembic's INFO line was filtered out by the log level
                direction = "upgrade" if step.is_upgrade else "downgrade"
                doc = (getattr(step.up_revision, "doc", "") or "").strip()
                self._running = self._step(step.up_revision_id, doc, direction, self._mark)
            self._finish()
            if self.write is not None:
                self.write(ctx.connection, [self.applied[-1]])
        self.stop.raise_if_stopped()

    def running(self) -> str | None:
        """The revision being applied or reverted right now, if any."""
        return self._running.revision if self._running else None

    def finish(self) -> None:
        self._finish()

    def abandon(self) -> tuple[str, str, datetime] | None:
        """The step that was running when the attempt failed: (revision, direction, started_at)."""
        running, self._running = self._running, None
        return (running.revision, running.direction, running.started_at) if running else None

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
        step, self._running = self._running, None
        self._mark = time.monotonic()
        duration_ms = round((self._mark - step.started) * 1000)
        self.applied.append(Applied(step.revision, step.message, step.direction, duration_ms, step.started_at))
        self._log.info(
            "migration.applied",
            revision=step.revision,
            message=step.message,
            direction=step.direction,
            duration_ms=duration_ms,
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
