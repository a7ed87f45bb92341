"""The database wait (core/pg.py over core/retry.py): what it retries, when it stops, what it says; time is injected."""

from __future__ import annotations

import io
import json

import pytest

from migrator.core.errors import DatabaseUnavailable, ExitCode, Interrupted
from migrator.core.events import Emitter
from migrator.core.pg import KEEPALIVES, connect_timeout, is_permanent, params, wait_for, wait_policy
from migrator.core.retry import Backoff, Timing
from migrator.core.signals import Stop
from migrator.core.urls import parse
from tests.support.clock import Clock

REFUSED = 'connection to server at "127.0.0.1", port 1 failed: Connection refused'
AUTH_FAILED = 'FATAL:  password authentication failed for user "x"'


class Refused(Exception):
    """Stands in for psycopg2.OperationalError."""


def attempts_failing(*errors: str) -> tuple[list[float], object]:
    calls: list[float] = []
    queue = list(errors)

    def attempt(remaining: float) -> str:
        calls.append(remaining)
        if queue:
            raise Refused(queue.pop(0))
        return "connection"

    return calls, attempt


def run(attempt: object, timeout: float, stream: io.StringIO, clock: Clock, stop: Stop | None = None) -> str:
    return wait_for(
        attempt,  # type: ignore[arg-type]
        wait_policy(Refused, timeout),
        stop or Stop(),
        Emitter("json", "debug", stream),
        "postgresql://u:***@db/app",
        Timing(clock, clock.sleep),
    )


def events(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_transient_errors_are_retried_until_the_database_answers() -> None:
    """Refused twice, then connected: three attempts, two short sleeps, db.ready says so."""
    clock, stream = Clock(start=100.0), io.StringIO()
    calls, attempt = attempts_failing(REFUSED, REFUSED)
    assert run(attempt, 60, stream, clock) == "connection"
    assert len(calls) == 3
    assert len(clock.slept) == 2 and 0.02 <= clock.slept[0] <= 0.03 and 0.04 <= clock.slept[1] <= 0.05
    waiting = [(e["attempt"], e["level"]) for e in events(stream) if e["event"] == "db.waiting"]
    assert waiting == [(1, "debug"), (1, "info"), (2, "debug")]  # each retry, and a summary every 5 s
    ready = [e for e in events(stream) if e["event"] == "db.ready"]
    assert [(e["attempts"], e["waited_ms"]) for e in ready] == [(3, round((clock.now - 100.0) * 1000))]


def test_an_error_retrying_cannot_fix_fails_at_once() -> None:
    """A wrong password is exit 3 after one attempt, with a hint that says not to wait."""
    calls, attempt = attempts_failing(AUTH_FAILED)
    with pytest.raises(DatabaseUnavailable) as raised:
        run(attempt, 60, io.StringIO(), Clock(start=100.0))
    assert len(calls) == 1
    assert raised.value.exit_code == ExitCode.DATABASE_UNAVAILABLE
    assert "retrying cannot fix this" in (raised.value.hint or "")


def test_the_deadline_ends_the_wait_naming_the_attempts_and_the_last_error() -> None:
    """Past the wait timeout: DatabaseUnavailable with the count and libpq's message."""
    clock = Clock(start=100.0)
    _, attempt = attempts_failing(*([REFUSED] * 1000))
    with pytest.raises(DatabaseUnavailable) as raised:
        run(attempt, 1.0, io.StringIO(), clock)
    assert raised.value.message.startswith("database postgresql://u:***@db/app not reachable within 1s (")
    assert raised.value.message.endswith(f"attempts): {REFUSED}")
    assert clock.now == pytest.approx(101.0)


def test_a_zero_timeout_means_one_attempt() -> None:
    """--wait-timeout 0: try once, never sleep."""
    clock = Clock(start=100.0)
    calls, attempt = attempts_failing(REFUSED)
    with pytest.raises(DatabaseUnavailable):
        run(attempt, 0, io.StringIO(), clock)
    assert (len(calls), clock.slept) == (1, [])


def test_a_signal_ends_the_wait() -> None:
    """SIGTERM while waiting: Interrupted (143), no further attempt."""
    stop = Stop()
    stop.trigger(ExitCode.TERMINATED)
    calls, attempt = attempts_failing(REFUSED)
    with pytest.raises(Interrupted) as raised:
        run(attempt, 60, io.StringIO(), Clock(start=100.0), stop)
    assert (raised.value.exit_code, calls) == (ExitCode.TERMINATED, [])


def test_backoff_doubles_from_20ms_and_stops_at_50ms_plus_jitter() -> None:
    """Cheap retries against a refusing server; readiness noticed within ~60 ms."""
    clock = Clock(start=100.0)
    _, attempt = attempts_failing(*[REFUSED] * 20)
    assert run(attempt, 60, io.StringIO(), clock) == "connection"
    bounds = [(0.02, 0.03), (0.04, 0.05)] + [(0.05, 0.06)] * 18
    assert [low <= slept <= high for slept, (low, high) in zip(clock.slept, bounds, strict=True)] == [True] * 20


def test_a_long_wait_for_a_refusing_database_ends_with_exit_3() -> None:
    """Thousands of attempts (each 1 ms apart here) end at the deadline, not in an OverflowError."""
    clock, stream = Clock(start=100.0), io.StringIO()
    _, attempt = attempts_failing(*[REFUSED] * 5000)
    with pytest.raises(DatabaseUnavailable) as raised:
        wait_for(
            attempt,  # type: ignore[arg-type]
            wait_policy(Refused, 4.0)._replace(backoff=Backoff(first=0.001, cap=0.001)),
            Stop(),
            Emitter("json", "info", stream),
            "db",
            Timing(clock, clock.sleep),
        )
    assert raised.value.exit_code == ExitCode.DATABASE_UNAVAILABLE
    assert "(4001 attempts)" in raised.value.message


def test_the_urls_connect_timeout_wins_and_is_passed_once() -> None:
    """?connect_timeout= is libpq's per attempt, as written; without it, the time left decides (2 to 10 s)."""
    given = parse("postgresql://u:pw@db/app?connect_timeout=30&application_name=job")
    plain = parse("postgresql://u:pw@db/app")
    assert "connect_timeout" not in params(given) and "connect_timeout" not in params(plain)
    assert [connect_timeout(given, 0.5), connect_timeout(plain, 0.5), connect_timeout(plain, 60)] == ["30", "2", "10"]
    assert params(given) == {
        **KEEPALIVES,
        "host": "db",
        "user": "u",
        "password": "pw",
        "dbname": "app",
        "application_name": "job",
    }


@pytest.mark.parametrize(
    ("message", "permanent"),
    [
        (REFUSED, False),
        ("FATAL:  the database system is starting up", False),
        ("FATAL:  sorry, too many clients already", False),
        ('could not translate host name "db" to address: Temporary failure in name resolution', False),
        (AUTH_FAILED, True),
        ('FATAL:  database "x" does not exist', True),
        ('FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "x", database "x", no encryption', True),
        ("fe_sendauth: no password supplied", True),
        ('invalid sslmode value: "sometimes"', True),
    ],
)
def test_which_connection_errors_are_permanent(message: str, permanent: bool) -> None:
    """Errors that come back the same on every attempt are not retried."""
    assert is_permanent(message) is permanent
