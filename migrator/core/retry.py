"""THE retry policy: the database wait, the DDL lock-timeout retry and `check --wait-for-head`.

A retry is a composition (tenacity's): what it retries on (an exception type, less what a
predicate calls permanent), when it stops (a deadline, a number of attempts, a signal), how
long it waits (exponential from ``first``, capped, plus jitter), and what it says (one event per
retry, from the caller's ``on_retry``). When it gives up it raises :class:`GaveUp` naming the last
error and the attempts, for the caller to translate; an error it does not retry is re-raised as is.

The first attempt runs without tenacity: importing it costs ~25 ms (it pulls in asyncio), a tenth
of a no-op run, whose first attempt succeeds. Only a failure imports it, and the failed outcome is
replayed into tenacity as its attempt 1. The clock and the sleep are injectable (tests run in
milliseconds); the default sleep is the Stop's, which a signal cuts short.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, NoReturn, TypeVar

from migrator.core.signals import Stop

if TYPE_CHECKING:
    import tenacity

T = TypeVar("T")


class Backoff(NamedTuple):
    """Exponential from ``first`` seconds, capped at ``cap``, plus up to ``jitter`` at random (after
    the cap, so runners that reached it do not retry in step)."""

    first: float
    cap: float
    jitter: float = 0.0


def _always(_error: BaseException) -> bool:
    return True


class Policy(NamedTuple):
    """What to retry on and when to stop: ``timeout`` seconds from the first attempt (None: no
    deadline), at most ``attempts`` (None: until the deadline)."""

    retry_on: type[BaseException] | tuple[type[BaseException], ...]
    backoff: Backoff
    timeout: float | None = None
    attempts: int | None = None
    retryable: Callable[[BaseException], bool] = _always  # False: permanent, re-raised at once


class Timing(NamedTuple):
    """Time as the loop reads it: the clock, and the sleep (None: the Stop's, which a signal ends)."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] | None = None


DEFAULT_TIMING = Timing()


class Retry(NamedTuple):
    """One retry about to happen: the attempt that failed, its error, the wait before the next one."""

    attempt: int
    error: BaseException
    delay: float
    waited: float  # seconds since the first attempt


class GaveUp(Exception):
    """The deadline passed or the attempts ran out: the last error, how many attempts were made."""

    def __init__(self, error: BaseException, attempts: int, waited: float) -> None:
        super().__init__(f"gave up after {attempts} attempts: {error}")
        self.error, self.attempts, self.waited = error, attempts, waited


def _quiet(_retry: Retry) -> None:
    pass


def call(
    attempt: Callable[[float], T],
    policy: Policy,
    stop: Stop,
    on_retry: Callable[[Retry], None] = _quiet,
    timing: Timing = DEFAULT_TIMING,
) -> T:
    """``attempt(seconds_left)`` until it returns, retried as ``policy`` says; a signal raises Interrupted."""
    started = timing.clock()
    deadline = started + policy.timeout if policy.timeout is not None else math.inf

    def once() -> T:
        stop.raise_if_stopped()
        return attempt(max(0.0, deadline - timing.clock()))

    try:
        return once()
    except policy.retry_on as exc:
        if not policy.retryable(exc):
            raise
        first = exc
    return _retrying(once, first, policy, stop, on_retry, timing._replace(clock=_since(timing.clock, started)))


def _since(clock: Callable[[], float], started: float) -> Callable[[], float]:
    """Seconds since ``started`` on ``clock``: the retries' time, zero at the first attempt."""
    return lambda: clock() - started


def _retrying(
    once: Callable[[], T],
    first: BaseException,
    policy: Policy,
    stop: Stop,
    on_retry: Callable[[Retry], None],
    timing: Timing,
) -> T:
    """The attempts after the first failed one, under tenacity (``timing.clock`` reads 0 at the first attempt)."""
    import tenacity  # only now: the first attempt failed

    elapsed = timing.clock
    deadline = policy.timeout if policy.timeout is not None else math.inf
    backoff = policy.backoff
    exponential = tenacity.wait_exponential(multiplier=backoff.first, max=backoff.cap)
    jittered = exponential + tenacity.wait_random(0, backoff.jitter)

    class PastDeadline(tenacity.stop.stop_base):
        """tenacity's stop_after_delay reads time.monotonic, which a test cannot inject: this reads the clock."""

        def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
            return elapsed() >= deadline

    stops = tenacity.stop_when_event_set(stop.event) | PastDeadline()
    if policy.attempts is not None:
        stops |= tenacity.stop_after_attempt(policy.attempts)
    replayed = [first]

    def again() -> T:
        if replayed:  # attempt 1 already ran, outside tenacity: its outcome counts
            raise replayed.pop()
        return once()

    def wait(state: tenacity.RetryCallState) -> float:
        return min(jittered(state), max(0.0, deadline - elapsed()))  # never sleep past the deadline

    def before_sleep(state: tenacity.RetryCallState) -> None:
        delay = state.upcoming_sleep
        on_retry(Retry(state.attempt_number, _error_of(state), delay, elapsed()))

    def give_up(state: tenacity.RetryCallState) -> NoReturn:
        stop.raise_if_stopped()
        raise GaveUp(_error_of(state), state.attempt_number, elapsed())

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(policy.retry_on) & tenacity.retry_if_exception(policy.retryable),
        stop=stops,
        wait=wait,
        sleep=timing.sleep or stop.sleep,
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
    return retrying(again)


def _error_of(state: tenacity.RetryCallState) -> BaseException:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    assert error is not None  # only failed attempts are retried
    return error
