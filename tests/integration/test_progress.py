"""Long work is visible (issue 10, point 5): each step's place in the run, a heartbeat while one takes
long with what PostgreSQL says about it, and a run's duration counted from the process's start."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO, Result, assert_no_secret, clean_env, parse_events, run, wait_until
from tests.integration.test_phases import CHAIN as PHASED
from tests.integration.test_phases import contract
from tests.support.background import Background
from tests.support.dbutil import execute
from tests.support.projects import Revision, recorded_chain, write_project
from tests.support.servers import Server

# Naps until the test creates the schema go_on: exactly as long as the test needs (a schema, not a table:
# a table would make the database look built without migrations).
NAP_UNTIL_GO_ON = (
    "op.execute(\"do $$ begin while not exists (select from pg_namespace where nspname = 'go_on') loop \"\n"
    '           "perform pg_sleep(0.05); end loop; end $$")'
)
INDEX_ITEMS = (
    'with op.get_context().autocommit_block():\n    op.execute("create index concurrently items_name on items (name)")'
)


def started(result: Result) -> list[tuple[str, str, int, int | None]]:
    return [
        (e["revision"], e["direction"], e["position"], e.get("total"))
        for e in result.events
        if e["event"] == "migration.started"
    ]


def beats(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "migration.running"]


def wait_for_beat(job: Background, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the job's log until a heartbeat matches (the timeout only guards against a hang)."""
    wait_until(
        lambda: any(matches(b) for b in beats(job.events())) or job.proc.poll() is not None,
        timeout=60,
        what="a migration.running line",
    )
    found = [b for b in beats(job.events()) if matches(b)]
    assert found, job.log.read_text()
    return found[0]


def test_each_started_migration_says_its_position_of_the_steps_alembic_runs(
    server: Server, database: str, tmp_path: Path
) -> None:
    """migration.started carries position k and total n: 1..3 of 3 up, 1 of 1 for `downgrade -1`, 1..2 of 2 to base."""
    write_project(tmp_path, recorded_chain(3))
    url = server.url_for(database)
    up = run(["upgrade"], url, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert started(up) == [("r000", "upgrade", 1, 3), ("r001", "upgrade", 2, 3), ("r002", "upgrade", 3, 3)]
    down = run(["downgrade"], url, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert started(down) == [("r002", "downgrade", 1, 1)]
    to_base = run(["downgrade", "base"], url, cwd=tmp_path)
    assert to_base.returncode == 0, to_base.stderr
    assert started(to_base) == [("r001", "downgrade", 1, 2), ("r000", "downgrade", 2, 2)]
    partial = run(["upgrade", "r001"], url, cwd=tmp_path, MIGRATOR_TRANSACTION_PER_MIGRATION="1")
    assert started(partial) == [("r000", "upgrade", 1, 2), ("r001", "upgrade", 2, 2)]


def test_each_phase_counts_only_the_steps_it_runs(server: Server, database: str, tmp_path: Path) -> None:
    """--phase expand runs p1, p2 of a chain whose p3 is a contract step: 1..2 of 2; contract then p3, p4: 1..2 of 2."""
    write_project(tmp_path, PHASED)
    contract(tmp_path, "p3")
    url = server.url_for(database)
    expand = run(["upgrade", "--phase", "expand"], url, cwd=tmp_path)
    assert started(expand) == [("p1", "upgrade", 1, 2), ("p2", "upgrade", 2, 2)], expand.stderr
    rest = run(["upgrade", "--phase", "contract"], url, cwd=tmp_path)
    assert started(rest) == [("p3", "upgrade", 1, 2), ("p4", "upgrade", 2, 2)], rest.stderr


def test_a_long_migration_logs_a_heartbeat_with_what_its_backend_waits_on(
    server: Server, database: str, tmp_path: Path
) -> None:
    """MIGRATOR_HEARTBEAT_INTERVAL=1: while r001 sleeps, migration.running every second with its elapsed
    time, its backend's state and wait event (from another connection: the migrating one is busy)."""
    write_project(tmp_path, [Revision("r000", None), Revision("r001", "r000", upgrade=NAP_UNTIL_GO_ON)])
    url = server.url_for(database)
    job = Background(["upgrade"], url, tmp_path, tmp_path / "log", MIGRATOR_HEARTBEAT_INTERVAL="1")
    beat = wait_for_beat(job, lambda b: b.get("wait_event") == "PgSleep")
    execute(server, database, "create schema go_on")
    result = job.result()
    assert result.returncode == 0, result.stderr
    assert beat["elapsed_s"] >= 1.0 and isinstance(beat["backend_pid"], int)
    assert {
        k: beat[k] for k in ("level", "revision", "direction", "position", "total", "state", "wait_event_type")
    } == {
        "level": "info",
        "revision": "r001",
        "direction": "upgrade",
        "position": 2,
        "total": 2,
        "state": "active",
        "wait_event_type": "Timeout",
    }
    names = result.names()
    first, last = names.index("migration.running"), len(names) - 1 - names[::-1].index("migration.running")
    assert names.index("migration.started") < first and last < len(names) - 1 - names[::-1].index("migration.applied")
    elapsed = [b["elapsed_s"] for b in beats(result.events)]
    assert elapsed == sorted(elapsed) and len(set(elapsed)) == len(elapsed)


def test_a_waiting_create_index_concurrently_shows_postgresqls_progress(
    server: Server, database: str, tmp_path: Path
) -> None:
    """A writer's open transaction holds up CREATE INDEX CONCURRENTLY: the heartbeat shows the phase and
    counters of pg_stat_progress_create_index and the lock it waits on, until the writer ends."""
    items = Revision("i0", None, upgrade='op.execute("create table items (id int, name text)")')
    write_project(tmp_path, [items, Revision("i1", "i0", upgrade=INDEX_ITEMS)])
    url = server.url_for(database)
    assert run(["upgrade", "i0"], url, cwd=tmp_path).returncode == 0
    engine = server.engine(database)
    with engine.connect() as writer:
        writer.exec_driver_sql("begin")
        writer.exec_driver_sql("insert into items values (2, 'b')")
        job = Background(
            ["upgrade"],
            url,
            tmp_path,
            tmp_path / "log",
            MIGRATOR_HEARTBEAT_INTERVAL="1",
            MIGRATOR_DDL_LOCK_TIMEOUT="60",
        )
        beat = wait_for_beat(job, lambda b: "phase" in b)
        writer.exec_driver_sql("rollback")
    engine.dispose()
    result = job.result()
    assert result.returncode == 0, result.stderr
    assert {k: beat[k] for k in ("revision", "operation", "phase", "relation", "wait_event_type", "wait_event")} == {
        "revision": "i1",
        "operation": "CREATE INDEX CONCURRENTLY",
        "phase": "waiting for writers before build",
        "relation": "items",
        "wait_event_type": "Lock",
        "wait_event": "virtualxid",
    }
    assert all(isinstance(beat[k], int) for k in ("blocks_done", "blocks_total", "tuples_done", "tuples_total"))


def test_run_finished_counts_the_waits_and_migrations_before_it(server: Server, database: str) -> None:
    """duration_ms covers at least the database wait, the lock wait and every migration's own duration."""
    result = run(["upgrade"], server.url_for(database))
    assert result.returncode == 0, result.stderr
    waited = result.event("db.ready")["waited_ms"] + result.event("lock.acquired")["waited_ms"]
    migrations = sum(e["duration_ms"] for e in result.events if e["event"] == "migration.applied")
    assert migrations > 0 and result.event("run.finished")["duration_ms"] >= waited + migrations


SLOW_START = "import sys, time\nimport migrator.__main__ as entry\ntime.sleep(0.5)\nentry.run()\n"


def test_run_finished_counts_from_the_entry_modules_import_on_both_stages(server: Server, database: str) -> None:
    """Half a second spent after `migrator/__main__.py` is imported (as slow imports would) counts in duration_ms,
    for the full stage and for the light one."""
    url = server.url_for(database)
    for stage in ("full", "light"):
        proc = subprocess.run(
            [sys.executable, "-c", SLOW_START, "upgrade"],
            cwd=REPO,
            env=clean_env(DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert proc.returncode == 0, proc.stderr
        assert_no_secret(proc.stderr, url)
        finished = [e for e in parse_events(proc.stderr) if e["event"] == "run.finished"][-1]
        assert finished.get("fast_path", False) is (stage == "light")
        assert finished["duration_ms"] >= 500, stage
