"""Run a contender as a real subprocess: wall time around spawn-to-reap, and its peak RSS from wait4."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass

from bench.model import Command, ContenderFailed, Sample

DEFAULT_TIMEOUT_S = 600.0


@dataclass
class Running:
    command: Command
    process: subprocess.Popen[bytes]
    started: float  # perf_counter


@dataclass(frozen=True)
class Finished:
    command: Command
    exit_code: int
    started: float  # perf_counter
    ended: float  # perf_counter
    ended_wall: float  # time.time(), comparable with the server log
    max_rss_kb: int
    cpu_seconds: float

    @property
    def sample(self) -> Sample:
        return Sample(self.ended - self.started, self.max_rss_kb, self.cpu_seconds)


def start(command: Command) -> Running:
    command.log.parent.mkdir(parents=True, exist_ok=True)
    with open(command.log, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command.argv,
            env=dict(command.env),
            cwd=command.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Running(command, process, started)


def finish(running: Running, timeout: float = DEFAULT_TIMEOUT_S) -> Finished:
    """Reap with wait4 (not Popen.wait) to get the child's rusage; ru_maxrss is in KiB on Linux.

    A contender still running after `timeout` is killed, so a hang fails the suite instead of stalling it.
    """
    watchdog = threading.Timer(timeout, running.process.kill)
    watchdog.start()
    try:
        _, status, usage = os.wait4(running.process.pid, 0)
    finally:
        watchdog.cancel()
    ended, ended_wall = time.perf_counter(), time.time()
    exit_code = os.waitstatus_to_exitcode(status)
    running.process.returncode = exit_code  # reaped here: keep Popen from waiting again
    cpu = usage.ru_utime + usage.ru_stime
    return Finished(running.command, exit_code, running.started, ended, ended_wall, usage.ru_maxrss, cpu)


def succeeded(finished: Finished) -> Finished:
    """The same result, or ContenderFailed with the tail of its output."""
    if finished.exit_code != 0:
        raise failure(finished)
    return finished


def failure(finished: Finished) -> ContenderFailed:
    """What went wrong, in one line with the last line of its output and where the rest is."""
    tail = finished.command.log.read_text(errors="replace")[-4000:]
    last = next((line.strip() for line in reversed(tail.splitlines()) if line.strip()), "no output")
    message = f"{finished.command.name} exited {finished.exit_code}: {last[:240]} (log: {finished.command.log})"
    return ContenderFailed(message, tail)


def run(command: Command) -> Finished:
    return succeeded(finish(start(command)))
