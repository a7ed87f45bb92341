"""Waiting for PostgreSQL: the retry policy around opening the first connection."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import tenacity
from sqlalchemy.exc import DBAPIError

from migrator.core.errors import DatabaseUnavailable
from migrator.core.signals import Stop
from migrator.engine import logs
from migrator.engine.db import error_text, is_retryable

T = TypeVar("T")

# Refused connections cost the server nothing; about 20 attempts a second at most keeps
# the time from "ready" to "noticed" around 25 ms without hammering anything.
FIRST_DELAY = 0.02
MAX_DELAY = 0.05
JITTER = 0.01
SUMMARY_EVERY = 5.0


def policy(timeout: float, stop: Stop, before_sleep: Callable[[tenacity.RetryCallState], None]) -> tenacity.Retrying:
    """Retry only errors that may pass; back off exponentially with jitter, capped low
    so a database that just became ready is noticed within a fraction of a second."""
    stop_rule: tenacity.stop.stop_base = tenacity.stop_when_event_set(stop.event)
    stop_rule = stop_rule | (tenacity.stop_after_attempt(1) if timeout <= 0 else tenacity.stop_after_delay(timeout))
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_retryable),
        stop=stop_rule,
        wait=tenacity.wait_exponential(multiplier=FIRST_DELAY, max=MAX_DELAY) + tenacity.wait_random(0, JITTER),
        sleep=stop.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def wait_for_database(connect: Callable[[float], T], timeout: float, stop: Stop, target: str) -> T:
    """Call ``connect(remaining_seconds)`` until it succeeds; DatabaseUnavailable otherwise."""
    log = logs.get()
    started = time.monotonic()
    reporter = _Reporter(log, started)

    def attempt() -> T:
        stop.raise_if_stopped()
        remaining = max(0.0, timeout - (time.monotonic() - started))
        return connect(remaining)

    try:
        result = policy(timeout, stop, reporter)(attempt)
    except DBAPIError as exc:
        stop.raise_if_stopped()
        if not is_retryable(exc):
            raise DatabaseUnavailable(
                f"cannot connect to {target}: {error_text(exc)}",
                hint="retrying cannot fix this: check the user, password and database name in the URL",
            ) from exc
        raise DatabaseUnavailable(
            f"database {target} not reachable within {timeout:g}s "
            f"({reporter.attempts + 1} attempts): {error_text(exc)}",
            hint="check that the server is up and reachable, or raise --wait-timeout",
        ) from exc
    log.info("db.ready", attempts=reporter.attempts + 1, waited_ms=round((time.monotonic() - started) * 1000))
    return result


class _Reporter:
    """Each attempt at debug; one summary line at info every few seconds."""

    def __init__(self, log: Any, started: float) -> None:
        self.log = log
        self.started = started
        self.attempts = 0
        self.next_summary = started

    def __call__(self, state: tenacity.RetryCallState) -> None:
        self.attempts = state.attempt_number
        delay = state.next_action.sleep if state.next_action else 0.0
        error = state.outcome.exception() if state.outcome else None
        reason = error_text(error) if error else ""
        self.log.debug("db.waiting", attempt=self.attempts, delay_ms=round(delay * 1000), error=reason)
        now = time.monotonic()
        if now >= self.next_summary:
            self.log.info("db.waiting", attempt=self.attempts, waited_s=round(now - self.started, 1), error=reason)
            self.next_summary = now + SUMMARY_EVERY
