"""The retry policy around opening the first connection; sleeping is injected, never real."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import psycopg2
import pytest
import tenacity
from sqlalchemy.exc import OperationalError

from migrator.core.signals import Stop
from migrator.engine import wait

# wait.policy passes the deprecated `initial=` to wait_exponential_jitter (tenacity >= 9.2 warns);
# the behaviour is still tested here, and the deprecation is recorded by the xfail test at the end.

REFUSED = 'connection to server at "127.0.0.1", port 1 failed: Connection refused'
AUTH_FAILED = 'FATAL:  password authentication failed for user "x"'


def connection_error(message: str) -> OperationalError:
    return OperationalError(None, None, psycopg2.OperationalError(message))


class FakeDatabase:
    """connect() fails with the given errors, one per attempt, then returns 'connection'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.attempts = 0

    def connect(self) -> str:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return "connection"


class Recorder:
    """Collects what the policy sleeps and reports, instead of sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.reported: list[int] = []

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        self.reported.append(state.attempt_number)


def fast_policy(
    timeout: float, stop: Stop, recorder: Recorder, sleep: Callable[[float], None] | None = None
) -> tenacity.Retrying:
    retrying = wait.policy(timeout, stop, recorder.before_sleep)
    return retrying.copy(sleep=sleep or recorder.sleeps.append)


def test_retries_transient_errors_until_the_database_answers() -> None:
    """Refused connections are retried, each retry reported, and the connection returned."""
    database = FakeDatabase(connection_error(REFUSED), connection_error(REFUSED))
    recorder = Recorder()
    result = fast_policy(30, Stop(), recorder)(database.connect)
    assert (result, database.attempts, recorder.reported, len(recorder.sleeps)) == ("connection", 3, [1, 2], 2)


def test_backs_off_with_jitter_under_a_low_cap() -> None:
    """Delays start near FIRST_DELAY, grow, and never exceed MAX_DELAY + JITTER."""
    database = FakeDatabase(*(connection_error(REFUSED) for _ in range(8)))
    recorder = Recorder()
    fast_policy(30, Stop(), recorder)(database.connect)
    delays = recorder.sleeps
    assert len(delays) == 8
    assert wait.FIRST_DELAY <= delays[0] <= wait.FIRST_DELAY + wait.JITTER
    assert [d for d in delays if not 0 < d <= wait.MAX_DELAY + wait.JITTER] == []
    assert delays[0] < delays[-1]
    assert wait.MAX_DELAY <= delays[-1] <= wait.MAX_DELAY + wait.JITTER


def test_non_retryable_error_is_raised_at_once() -> None:
    """A wrong password comes back the same every time: one attempt, the original error, no sleep."""
    error = connection_error(AUTH_FAILED)
    database = FakeDatabase(error)
    recorder = Recorder()
    with pytest.raises(OperationalError) as raised:
        fast_policy(30, Stop(), recorder)(database.connect)
    assert (raised.value is error, database.attempts, recorder.sleeps) == (True, 1, [])


def test_errors_that_are_not_connection_errors_are_raised_at_once() -> None:
    """A bug in the connect function is not retried."""
    database = FakeDatabase(KeyError("boom"))
    recorder = Recorder()
    with pytest.raises(KeyError):
        fast_policy(30, Stop(), recorder)(database.connect)
    assert (database.attempts, recorder.sleeps) == (1, [])


def test_timeout_zero_means_exactly_one_attempt() -> None:
    """--wait-timeout 0 tries once and re-raises the original error, even a retryable one."""
    error = connection_error(REFUSED)
    database = FakeDatabase(error, connection_error(REFUSED))
    recorder = Recorder()
    with pytest.raises(OperationalError) as raised:
        fast_policy(0, Stop(), recorder)(database.connect)
    assert (raised.value is error, database.attempts, recorder.sleeps) == (True, 1, [])


def test_a_stop_request_ends_the_retries_with_the_last_error() -> None:
    """Once the stop event is set, the next failure is re-raised instead of retried."""
    stop = Stop()
    last = connection_error(REFUSED)
    database = FakeDatabase(connection_error(REFUSED), last, connection_error(REFUSED))
    recorder = Recorder()

    def sleep_then_signal(seconds: float) -> None:
        recorder.sleeps.append(seconds)
        stop.event.set()

    with pytest.raises(OperationalError) as raised:
        fast_policy(30, stop, recorder, sleep_then_signal)(database.connect)
    assert (raised.value is last, database.attempts, len(recorder.sleeps)) == (True, 2, 1)


def test_policy_sleeps_on_the_stop_event() -> None:
    """The real sleep is the Stop's, so a signal cuts a back-off short."""
    stop = Stop()
    assert wait.policy(30, stop, Recorder().before_sleep).sleep == stop.sleep


def test_policy_uses_no_deprecated_tenacity_api() -> None:
    """Building the policy warns about nothing, so it keeps working on newer tenacity releases."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wait.policy(30, Stop(), Recorder().before_sleep)
