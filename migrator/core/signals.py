"""SIGTERM/SIGINT: cancel the running statement so the transaction rolls back, then exit.

A statement blocked inside libpq never returns to the interpreter, so a Python
signal handler would only run once it finished. Instead the signals are blocked
in every thread and a watcher thread takes them with ``sigwait``, cancels the
statement through the driver (``PQcancel``), and sets the stop event that every
wait loop sleeps on. If the main thread still has not finished after a grace
period the process exits hard: PostgreSQL then rolls the transaction back and
drops the session lock with the connection.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable

from migrator.core.errors import ExitCode, Interrupted

GRACE_SECONDS = 10.0
_CANCEL_EVERY = 1.0
_SIGNALS = {signal.SIGTERM: ExitCode.TERMINATED, signal.SIGINT: ExitCode.INTERRUPTED}

Cancel = Callable[[], None]


class Stop:
    """Shared between the watcher and the main thread: the signal taken, the cancel hook."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.exit_code: ExitCode | None = None
        self._cancel: Cancel | None = None
        self._mutex = threading.Lock()

    def set_cancel(self, cancel: Cancel | None) -> None:
        with self._mutex:
            self._cancel = cancel

    def trigger(self, exit_code: ExitCode) -> None:
        with self._mutex:
            if self.exit_code is None:
                self.exit_code = exit_code
            cancel = self._cancel
        self.event.set()
        if cancel is not None:
            # Best effort: the grace-period exit backs it up.
            with contextlib.suppress(Exception):
                cancel()

    def sleep(self, seconds: float) -> None:
        """Sleep that a signal cuts short."""
        self.event.wait(seconds)

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    def raise_if_stopped(self) -> None:
        if self.exit_code is not None:
            raise self.interrupted()

    def interrupted(self) -> Interrupted:
        code = self.exit_code or ExitCode.TERMINATED
        name = "SIGINT" if code == ExitCode.INTERRUPTED else "SIGTERM"
        return Interrupted(code, f"interrupted by {name}")


def install(stop: Stop, on_signal: Callable[[ExitCode], None] | None = None) -> None:
    """Route SIGTERM/SIGINT to ``stop`` from a watcher thread (call once, from the main thread)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(_SIGNALS))
    watcher = threading.Thread(target=_watch, args=(stop, on_signal), name="migrator-signals", daemon=True)
    watcher.start()


def unblocked_child_signals() -> None:
    """For subprocesses (preexec_fn): undo the inherited signal mask."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(_SIGNALS))


def _watch(stop: Stop, on_signal: Callable[[ExitCode], None] | None) -> None:
    signum = signal.sigwait(set(_SIGNALS))
    code = _SIGNALS[signal.Signals(signum)]
    if on_signal is not None:
        on_signal(code)
    stop.trigger(code)
    waited = 0.0
    while waited < GRACE_SECONDS:
        # A statement may start after the first cancel; keep cancelling.
        if _second_signal_within(_CANCEL_EVERY):
            break
        waited += _CANCEL_EVERY
        stop.trigger(code)
    os._exit(int(code))


def _second_signal_within(seconds: float) -> bool:
    return signal.sigtimedwait(set(_SIGNALS), seconds) is not None
