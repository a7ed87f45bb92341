"""D · waking the waiters: how soon after the migrating runner lets go of the lock do the waiting ones exit?

Unlike "N runners at once against one alone", this does not depend on how many cores share the
runners' start-up: every waiter is already running, connected and waiting when the lock is let go.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench import checks, server
from bench import contenders as c
from bench.eventlog import event_time
from bench.measure import Finished, Running, failure, finish, start
from bench.model import Case, Command, ContenderFailed, Sample
from bench.progress import note
from bench.projects import Project
from bench.workspace import Workspace

# How long the head revision sleeps inside its transaction (bench/realworld.py), lock held: long
# enough for the waiters to start and wait on a busy 2-core machine, checked in every round.
HOLD_S = 1.5
POLL_S = 0.02
SETUP_TIMEOUT_S = 60.0
REAP_TIMEOUT_S = 120.0
_LOCK_HELD = (
    "select count(*) from pg_locks where locktype = 'advisory' and granted "
    "and database = (select oid from pg_database where datname = current_database())"
)


def measure(ws: Workspace, project: Project, waiters: int) -> Case:
    """``project``'s head revision must sleep HOLD_S seconds (write_realworld(..., hold_s=HOLD_S))."""
    database = f"d_{project.name}_wake"
    holder = ws.migrator(project, database, "upgrade", "d-wake-holder", "the migrating runner")
    waiting = [
        ws.migrator(project, database, "upgrade", f"d-wake-waiter-{index}", f"waiter {index}")
        for index in range(1, waiters + 1)
    ]
    setup = " ".join(filter(None, (_setup(project, waiters), project.description)))
    case = Case("D", project.size, None, (c.WOKEN,), setup=setup, project=project.kind)
    for round_index in range(ws.config.rounds):
        note(f"D {case.label} wake-up round {round_index + 1}/{ws.config.rounds}")
        for latency in _one_round(ws, project, database, holder, waiting):
            case.add(c.WOKEN, Sample(latency))
    case.checks.append(
        f"in every round ({ws.config.rounds}) all {waiters} waiters had logged `lock.waiting` before the "
        f"migrating runner's `lock.released`, all {waiters + 1} runners exited 0 and each of the "
        f"{project.size} migrations was applied exactly once"
    )
    return case


def _setup(project: Project, waiters: int) -> str:
    return (
        f"N = {project.size}, its head revision sleeping {HOLD_S:g} s (pg_sleep) in its transaction. One "
        "`migrator upgrade` starts on a fresh empty database; once it holds the migration lock (an advisory "
        f"lock in pg_locks), {waiters} more start; once each has logged `lock.waiting`, they are left alone. "
        "One sample per waiter: its exit (reaped by a thread of its own) minus the migrating runner's "
        "`lock.released` timestamp (`run.finished` if it logged none)."
    )


def _one_round(ws: Workspace, project: Project, database: str, holder: Command, waiters: list[Command]) -> list[float]:
    server.recreate_database(ws.pg, database)
    running = [start(holder)]
    try:
        _await(lambda: server.query(ws.pg, database, _LOCK_HELD) == [["1"]], "the lock was held", running)
        running += [start(command) for command in waiters]
        _await(lambda: all(_logged(one, "lock.waiting") for one in waiters), "every waiter was waiting", running)
        with ThreadPoolExecutor(max_workers=len(running)) as pool:
            done = list(pool.map(lambda one: finish(one, REAP_TIMEOUT_S), running))
    finally:
        _kill(running)
    failed = [one for one in done if one.exit_code != 0]
    if failed:
        raise failure(failed[0])
    checks.applied_once(ws.pg, database, project, "the migrating runner and its waiters")
    released = _released_at(done[0])
    return [_latency(one, released) for one in done[1:]]


def _released_at(holder: Finished) -> float:
    text = holder.command.log.read_text(errors="replace")
    released = event_time(text, "lock.released") or event_time(text, "run.finished")
    if released is None:
        raise ContenderFailed(f"{holder.command.name} logged neither lock.released nor run.finished", text[-4000:])
    return released


def _latency(waiter: Finished, released: float) -> float:
    """Seconds from the release to the waiter's exit, for a waiter that was waiting when the lock was let go."""
    waited = event_time(waiter.command.log.read_text(errors="replace"), "lock.waiting")
    if waited is None or waited >= released:
        raise ContenderFailed(
            f"{waiter.command.name} was not waiting yet when the lock was released (lock.waiting at {waited}, "
            f"released at {released:.3f}): raise HOLD_S ({HOLD_S:g} s) in bench/wakeup.py for this machine"
        )
    return waiter.ended_wall - released


def _logged(command: Command, event: str) -> bool:
    try:
        return event_time(command.log.read_text(errors="replace"), event) is not None
    except FileNotFoundError:
        return False


def _await(ready: Callable[[], bool], what: str, running: list[Running]) -> None:
    """Poll until ready(); a runner that exits first, or SETUP_TIMEOUT_S, fails the round."""
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    while not ready():
        for one in running:
            if _exited(one):
                finished = finish(one)
                if finished.exit_code:
                    raise failure(finished)
                raise ContenderFailed(f"{one.command.name} exited before {what} (log: {one.command.log})")
        if time.monotonic() > deadline:
            raise ContenderFailed(f"waited {SETUP_TIMEOUT_S:g} s in vain until {what}")
        time.sleep(POLL_S)


def _exited(running: Running) -> bool:
    """Exited, without reaping it (finish() reaps it with wait4, for its rusage)."""
    return os.waitid(os.P_PID, running.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _kill(running: list[Running]) -> None:
    """Kill and reap whatever a failed round left running."""
    for one in running:
        if one.process.returncode is None:
            one.process.kill()
            finish(one)
