"""A writer workload in a process of its own: steady inserts and updates on the app's tables, each one timed.

``python -m devtools.writer ITEMS`` with DATABASE_URL in its environment (never on the command
line), against a database seeded by devtools/under_load.py with ITEMS packing items. One statement
every TICK_S in autocommit, round robin: insert a packing item, flip one's ``is_packed``, update a
traveler: what the old pods keep doing while an expand step runs. It does not catch up after a
stall (no burst after a wait), so the statements stay a steady trickle.

Its first line on stdout says it is writing; SIGTERM or SIGINT ends it after the statement in
flight, and its last line is every statement as JSON (kind, start in epoch seconds, duration,
error). A failed statement is recorded, the connection reopened if it broke, and the writing goes on.

``Writer`` is the other side: start it, wait until it writes, stop it and read what it saw;
``during`` says what it saw while something else ran.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg2  # type: ignore[import-untyped]

from devtools.under_load import Dataset

REPO = Path(__file__).resolve().parent.parent
TICK_S = 0.005  # 200 statements a second
WRITING = "writing"
APPLICATION_NAME = "load-writer"

INSERT_ITEM = (
    "insert into packing_items (id, trip_id, traveler_id, name, category, quantity, is_packed, is_essential, "
    "display_order, created_at, updated_at) values (%s, %s, %s, 'new item', 'OTHER', 1, false, false, 0, "
    "now() at time zone 'utc', now() at time zone 'utc')"
)
FLIP_ITEM = "update packing_items set is_packed = not is_packed, updated_at = now() at time zone 'utc' where id = %s"
UPDATE_TRAVELER = "update travelers set preferences = %s where id = %s"


@dataclass(frozen=True)
class Statement:
    kind: str
    started: float  # epoch seconds
    seconds: float
    error: str | None = None

    @property
    def ended(self) -> float:
        return self.started + self.seconds


@dataclass(frozen=True)
class Seen:
    """What the writer saw in a window of time."""

    statements: int  # that ran at least partly inside it
    written: int  # that succeeded and ended inside it
    longest: float  # seconds, of the statements that ran at least partly inside it
    errors: tuple[str, ...]


def during(statements: Sequence[Statement], start: float, end: float) -> Seen:
    """The statements that overlap [start, end] (epoch seconds): a stall that began before is counted whole."""
    inside = [s for s in statements if s.started < end and s.ended > start]
    written = sum(1 for s in inside if s.error is None and start <= s.ended <= end)
    errors = tuple(f"{s.kind}: {s.error}" for s in inside if s.error is not None)
    return Seen(len(inside), written, max((s.seconds for s in inside), default=0.0), errors)


# --- the writing process ------------------------------------------------------------------------


def _statements(data: Dataset) -> Iterator[tuple[str, str, tuple[Any, ...]]]:
    """An endless round robin of (kind, sql, parameters), spread over the seeded rows."""
    prefix = f"w{os.getpid()}-"
    for number in itertools.count(1):
        trip = data.trip_id(number * 7919)
        traveler = data.traveler_id(trip, number)
        yield "insert item", INSERT_ITEM, (f"{prefix}{number}", trip, traveler)
        yield "flip item", FLIP_ITEM, (data.item_id(number * 104729),)
        yield "update traveler", UPDATE_TRAVELER, (f'{{"seat": {number % 30}}}', traveler)


def _connect(url: str) -> Any:
    conn = psycopg2.connect(url, application_name=APPLICATION_NAME)
    conn.autocommit = True
    return conn


def write(url: str, data: Dataset, stop: threading.Event, ready: Callable[[], None]) -> list[Statement]:
    """Write until ``stop`` is set; ``ready`` is called once, after the first statement that succeeded."""
    conn = _connect(url)
    done: list[Statement] = []
    due = time.monotonic()
    for kind, sql, parameters in _statements(data):
        if stop.is_set():
            break
        started, clock = time.time(), time.perf_counter()
        error = None
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, parameters)
        except psycopg2.Error as exc:
            error = f"{exc.pgcode or type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
            if conn.closed:
                conn = _connect(url)
        done.append(Statement(kind, started, time.perf_counter() - clock, error))
        if error is None and len(done) == 1:
            ready()
        due = max(due + TICK_S, time.monotonic())
        stop.wait(due - time.monotonic())
    conn.close()
    return done


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def ready() -> None:
        print(WRITING, flush=True)

    statements = write(environ["DATABASE_URL"], Dataset(int(argv[0])), stop, ready)
    print(json.dumps([[s.kind, s.started, s.seconds, s.error] for s in statements]), flush=True)
    return 0


# --- the other side -----------------------------------------------------------------------------


class Writer:
    """The writer process, started on ``url`` with ``env`` (the caller's, scrubbed as it sees fit); a context
    manager that kills it if it was not stopped."""

    def __init__(self, url: str, data: Dataset, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.writer", str(data.items)],
            cwd=REPO,
            env={**env, "DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_until_writing(self, timeout: float = 30.0) -> None:
        """Until its first statement succeeded; an error if it exits or stays silent."""
        stdout = self.process.stdout
        assert stdout is not None
        readable, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline().strip() if readable else ""
        if line != WRITING:
            self.process.kill()
            _, stderr = self.process.communicate()
            raise RuntimeError(f"the writer did not start writing within {timeout:g} s: {line!r} {stderr[-2000:]}")

    def stop(self, timeout: float = 30.0) -> list[Statement]:
        """SIGTERM, then every statement it ran."""
        self.process.send_signal(signal.SIGTERM)
        stdout, stderr = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"the writer exited {self.process.returncode}: {stderr[-2000:]}")
        rows = json.loads(stdout.strip().splitlines()[-1])
        return [Statement(str(kind), float(started), float(seconds), error) for kind, started, seconds, error in rows]

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
