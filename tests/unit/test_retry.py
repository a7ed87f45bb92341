"""The one retry policy (core/retry.py): what it retries, when it stops, how long it waits, what it
imports; the clock and the sleep are injected, so each test runs in milliseconds."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from migrator.core.errors import ExitCode, Interrupted
from migrator.core.retry import Backoff, GaveUp, Policy, Retry, Timing, call
from migrator.core.signals import Stop
from tests.conftest import REPO
from tests.support.clock import Clock


class Busy(Exception):
    """Something that may pass."""


class Broken(Exception):
    """Something that will not."""


def failing(times: int, error: Callable[[], BaseException] = lambda: Busy("busy")) -> tuple[list[float], object]:
    """An attempt that fails ``times`` times, then returns "done"; the seconds left it was given, per call."""
    calls: list[float] = []

    def attempt(remaining: float) -> str:
        calls.append(remaining)
        if len(calls) <= times:
            raise error()
        return "done"

    return calls, attempt


def run(
    attempt: object, policy: Policy, clock: Clock, stop: Stop | None = None, seen: list[Retry] | None = None
) -> str:
    result: str = call(
        attempt,  # type: ignore[arg-type]
        policy,
        stop or Stop(),
        (seen if seen is not None else []).append,
        Timing(clock, clock.sleep),
    )
    return result


FAST = Backoff(first=0.01, cap=0.04)


def test_retries_until_the_attempt_succeeds_saying_each_retry() -> None:
    """Two failures, then success: three attempts, two waits doubling from ``first``, one Retry each."""
    clock, seen = Clock(), list[Retry]()
    calls, attempt = failing(2)
    assert run(attempt, Policy(Busy, FAST, timeout=60), clock, seen=seen) == "done"
    assert len(calls) == 3
    assert clock.slept == [pytest.approx(0.01), pytest.approx(0.02)]
    assert [(r.attempt, str(r.error), r.delay) for r in seen] == [
        (1, "busy", clock.slept[0]),
        (2, "busy", clock.slept[1]),
    ]
    assert [r.waited for r in seen] == [0.0, pytest.approx(0.01)]


def test_jitter_is_added_after_the_cap() -> None:
    """Waits grow to the cap, then stay between the cap and cap + jitter."""
    clock = Clock()
    _, attempt = failing(12)
    run(attempt, Policy(Busy, Backoff(first=0.01, cap=0.04, jitter=0.005), timeout=60), clock)
    bounds = [(0.01, 0.015), (0.02, 0.025)] + [(0.04, 0.045)] * 10
    assert [low <= slept <= high for slept, (low, high) in zip(clock.slept, bounds, strict=True)] == [True] * 12


def test_the_deadline_ends_the_wait_with_the_last_error_and_the_attempts() -> None:
    """Never sleeps past the deadline; GaveUp names the last error and how many attempts were made."""
    clock = Clock()
    calls, attempt = failing(10_000)
    with pytest.raises(GaveUp) as raised:
        run(attempt, Policy(Busy, Backoff(first=0.1, cap=0.3), timeout=1.0), clock)
    assert clock.now == pytest.approx(1001.0)
    assert (raised.value.attempts, str(raised.value.error)) == (len(calls), "busy")
    assert calls[0] == pytest.approx(1.0) and calls[-1] == pytest.approx(0.0)  # the seconds left, per attempt


def test_a_zero_timeout_means_one_attempt() -> None:
    """No time to wait: one attempt, no sleep, GaveUp after it."""
    clock = Clock()
    calls, attempt = failing(1)
    with pytest.raises(GaveUp) as raised:
        run(attempt, Policy(Busy, FAST, timeout=0), clock)
    assert (len(calls), clock.slept, raised.value.attempts) == (1, [], 1)


def test_counted_attempts_end_the_retries() -> None:
    """``attempts`` is the total: the first and then attempts - 1 retries."""
    calls, attempt = failing(100)
    with pytest.raises(GaveUp) as raised:
        run(attempt, Policy(Busy, FAST, attempts=4), Clock())
    assert (len(calls), raised.value.attempts) == (4, 4)


def test_two_thousand_attempts_wait_the_cap_without_overflowing() -> None:
    """Attempt 2000 (2 ** 1999 is past any float) waits the cap, not an OverflowError."""
    clock = Clock()
    calls, attempt = failing(10_000)
    with pytest.raises(GaveUp):
        run(attempt, Policy(Busy, Backoff(first=0.001, cap=30.0), attempts=2000), clock)
    assert len(calls) == 2000
    assert clock.slept[-1] == 30.0 and max(clock.slept) == 30.0


def test_a_permanent_error_is_raised_at_once() -> None:
    """What the predicate calls permanent is re-raised as it was, after one attempt."""
    clock = Clock()
    calls, attempt = failing(5, lambda: Broken("bad password"))
    policy = Policy((Busy, Broken), FAST, timeout=60, retryable=lambda error: not isinstance(error, Broken))
    with pytest.raises(Broken, match="bad password"):
        run(attempt, policy, clock)
    assert (len(calls), clock.slept) == (1, [])


def test_a_permanent_error_after_retries_is_raised_as_it_was() -> None:
    """Retried while it may pass; the first permanent error ends it."""
    errors = [Busy("busy"), Broken("gone")]
    calls: list[float] = []

    def attempt(remaining: float) -> str:
        calls.append(remaining)
        raise errors.pop(0)

    policy = Policy((Busy, Broken), FAST, timeout=60, retryable=lambda error: not isinstance(error, Broken))
    with pytest.raises(Broken, match="gone"):
        run(attempt, policy, Clock())
    assert len(calls) == 2


def test_an_error_it_does_not_retry_on_passes_through() -> None:
    """Only ``retry_on`` is retried: anything else is the caller's, at once."""
    calls, attempt = failing(3, lambda: ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        run(attempt, Policy(Busy, FAST, timeout=60), Clock())
    assert len(calls) == 1


def test_a_signal_before_the_first_attempt_stops_it() -> None:
    """SIGTERM already taken: Interrupted (143), nothing attempted."""
    stop = Stop()
    stop.trigger(ExitCode.TERMINATED)
    calls, attempt = failing(0)
    with pytest.raises(Interrupted) as raised:
        run(attempt, Policy(Busy, FAST, timeout=60), Clock(), stop)
    assert (raised.value.exit_code, calls) == (ExitCode.TERMINATED, [])


def test_a_signal_during_the_wait_ends_it() -> None:
    """SIGTERM while waiting between attempts: Interrupted (143), no further attempt."""
    stop, clock = Stop(), Clock()
    calls, attempt = failing(100)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 3:
            stop.trigger(ExitCode.TERMINATED)

    with pytest.raises(Interrupted) as raised:
        call(attempt, Policy(Busy, FAST, timeout=60), stop, timing=Timing(clock, sleep))  # type: ignore[arg-type]
    assert (raised.value.exit_code, len(calls), len(clock.slept)) == (ExitCode.TERMINATED, 3, 3)


def test_the_default_sleep_is_the_stops() -> None:
    """Without an injected sleep the wait is the Stop's, which a signal cuts short: no wait at all once set."""
    stop = Stop()
    calls: list[float] = []

    def attempt(remaining: float) -> str:
        calls.append(remaining)
        stop.trigger(ExitCode.INTERRUPTED)  # e.g. SIGINT while the attempt ran
        raise Busy("busy")

    with pytest.raises(Interrupted) as raised:
        call(attempt, Policy(Busy, Backoff(first=60.0, cap=60.0), timeout=600), stop)
    assert (raised.value.exit_code, len(calls)) == (ExitCode.INTERRUPTED, 1)


PROBE = """
import sys
from migrator.core.retry import Backoff, Policy, call
from migrator.core.signals import Stop
failures = int(sys.argv[1])
def attempt(remaining):
    global failures
    if failures:
        failures -= 1
        raise OSError("busy")
    return "done"
print(call(attempt, Policy(OSError, Backoff(0.001, 0.001), timeout=5), Stop()), "tenacity" in sys.modules)
"""


@pytest.mark.parametrize(("failures", "imported"), [(0, False), (1, True)])
def test_tenacity_is_imported_only_once_the_first_attempt_failed(failures: int, imported: bool) -> None:
    """The light path's first attempt succeeds: it never pays for importing tenacity."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(failures)], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["done", str(imported)]
