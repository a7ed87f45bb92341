"""Per-migration events: started (from Alembic's step log, with its position in the run), running
(a heartbeat while a migration takes long) and applied (on_version_apply)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from migrator.core.signals import Stop
from migrator.engine import logs

_ALEMBIC_STEP_LOGGER = "alembic.runtime.migration"
Emit = Callable[..., None]  # Emitter.emit: (event, level="info", **fields)


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

    def __init__(self, stop: Stop, emit: Emit, write: Callable[[Any, list[Any]], None] | None = None) -> None:
        self.stop = stop
        # Two lines per revision: straight to the run's emitter (core/events.py), as the light stage writes,
        # without structlog's processors, which cost a long chain a few percent of bare Alembic's time.
        self.emit = emit
        self.write = write  # history rows, on the migrating connection, in the step's own transaction
        self.applied: list[Applied] = []
        self.total: int | None = None  # the steps Alembic will run, once the decision knows them
        # Steps that committed part of their own work while running (an autocommit_block, e.g. a
        # migrator.online helper): that part stays whatever fails later, even if the step does not.
        self.partly_committed: list[str] = []
        self._running: Step | None = None  # read by the heartbeat's thread: replaced, never mutated
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
        self.emit(
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
        return self._running.revision if self._running else None

    def current(self) -> Step | None:
        """The step running right now, if any (safe to call from another thread)."""
        return self._running

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
        self.emit(
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


# What the migrating backend is doing, and how far PostgreSQL says its CREATE INDEX or CLUSTER / VACUUM FULL is
# (a left join: the progress views have a row only while such a command runs).
_BACKEND = text(
    """
    select a.state, a.wait_event_type, a.wait_event,
           ci.command as index_command, ci.phase as index_phase, ci.relid::regclass::text as index_relation,
           ci.blocks_done, ci.blocks_total, ci.tuples_done, ci.tuples_total,
           cl.command as cluster_command, cl.phase as cluster_phase, cl.relid::regclass::text as cluster_relation,
           cl.heap_blks_scanned, cl.heap_blks_total, cl.heap_tuples_scanned, cl.heap_tuples_written
    from pg_stat_activity a
    left join pg_stat_progress_create_index ci on ci.pid = a.pid
    left join pg_stat_progress_cluster cl on cl.pid = a.pid
    where a.pid = :pid
    """
)


def backend_fields(row: Mapping[Any, Any] | None) -> dict[str, Any]:
    """The heartbeat's account of the migrating backend: what it waits on, and the progress PostgreSQL reports."""
    if row is None:
        return {"state": None, "wait_event_type": None, "wait_event": None}  # the backend has gone
    fields: dict[str, Any] = {
        "state": row["state"],
        "wait_event_type": row["wait_event_type"],
        "wait_event": row["wait_event"],
    }
    if row["index_phase"] is not None:
        fields |= {
            "operation": row["index_command"],
            "phase": row["index_phase"],
            "relation": row["index_relation"],
            "blocks_done": row["blocks_done"],
            "blocks_total": row["blocks_total"],
            "tuples_done": row["tuples_done"],
            "tuples_total": row["tuples_total"],
        }
    elif row["cluster_phase"] is not None:
        fields |= {
            "operation": row["cluster_command"],
            "phase": row["cluster_phase"],
            "relation": row["cluster_relation"],
            "blocks_done": row["heap_blks_scanned"],
            "blocks_total": row["heap_blks_total"],
            "tuples_scanned": row["heap_tuples_scanned"],
            "tuples_written": row["heap_tuples_written"],
        }
    return fields


class Heartbeat:
    """``migration.running`` every ``interval`` seconds of a migration's run, observed by engine/watch.py from
    its own connection (the migrating one is busy); ``interval`` 0 turns it off."""

    def __init__(
        self,
        backend_pid: int,
        current: Callable[[], Step | None],
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend_pid = backend_pid
        self.current = current
        self.interval = interval
        self.clock = clock
        self._step: Step | None = None
        self._due = 0.0
        self._log = logs.get()

    def due(self) -> Step | None:
        """The running step when its next beat is due (each step's beats fall at interval, 2 x interval...)."""
        step = self.current()
        if step is None or self.interval <= 0:
            return None
        if step is not self._step:
            self._step, self._due = step, step.started + self.interval
        now = self.clock()
        if now < self._due:
            return None
        while self._due <= now:  # a slow look must not bring a burst of beats
            self._due += self.interval
        return step

    def observe(self, conn: Connection) -> None:
        step = self.due()
        if step is None:
            return
        row = conn.execute(_BACKEND, {"pid": self.backend_pid}).mappings().first()
        if self.current() is not step:
            return  # it finished while we looked: its migration.applied says the rest
        counted = {"total": step.total} if step.total is not None else {}
        self._log.info(
            "migration.running",
            revision=step.revision,
            direction=step.direction,
            position=step.position,
            **counted,
            elapsed_s=round(self.clock() - step.started, 1),
            backend_pid=self.backend_pid,
            **backend_fields(row),
        )
