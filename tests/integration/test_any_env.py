"""Four kinds of env.py, one behaviour: atomic by default, --transaction-per-migration, per-migration
events and history, and the migrations on the locked connection with migrator's session settings."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import finish, run, start, wait_until
from tests.support.dbutil import query
from tests.support.envs import ALEMBIC, KINDS, make, write_revisions
from tests.support.servers import Server


def tables(server: Server, database: str) -> set[str]:
    rows = query(server, database, "select tablename from pg_tables where schemaname = 'public'")
    return {r[0] for r in rows}


@pytest.mark.parametrize("kind", KINDS)
def test_migrations_run_on_the_locked_connection_with_migrators_settings(
    kind: str, server: Server, database: str, tmp_path: Path
) -> None:
    """Whatever env.py connects to, the migration's session is the one holding the lock, named
    migrator, with its lock_timeout; one migration.applied per revision; every line is JSON."""
    versions, after = make(kind, tmp_path)
    write_revisions(versions, after, second_fails=False)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)  # run() parses every line as JSON
    assert result.returncode == 0, result.stderr
    pid, app, lock_timeout, _ = query(server, database, "select * from probe")[0]
    assert (pid, app, lock_timeout) == (result.event("lock.acquired")["backend_pid"], "migrator", "5s")
    applied = [e["revision"] for e in result.events if e["event"] == "migration.applied"]
    assert applied[-2:] == ["e1", "e2"]
    rows = query(server, database, "select revision from migrator_history where direction = 'upgrade' order by id")
    assert [r[0] for r in rows][-2:] == ["e1", "e2"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_failure_rolls_the_whole_run_back_by_default(
    kind: str, server: Server, database: str, tmp_path: Path
) -> None:
    """Default mode: the second migration fails, the first is rolled back with it; the hint says so."""
    versions, after = make(kind, tmp_path)
    write_revisions(versions, after, second_fails=True)
    url = server.url_for(database)
    if after is not None:  # the app's revisions first: its rename's backfill commits the run so far, by design
        assert run(["upgrade", after], url, cwd=tmp_path).returncode == 0
    result = run(["upgrade"], url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    failed = result.event("run.failed")
    assert failed["error"].startswith("migration e2 failed: ")
    assert f"rolled back; the database is still at {after or 'base'}" in failed["hint"]
    assert "probe" not in tables(server, database)
    assert "e2_partial" not in tables(server, database)


@pytest.mark.parametrize("kind", KINDS)
def test_transaction_per_migration_keeps_what_committed_and_records_it(
    kind: str, server: Server, database: str, tmp_path: Path
) -> None:
    """--transaction-per-migration: e1 stays committed, with its history row; the hint reads the state."""
    versions, after = make(kind, tmp_path)
    write_revisions(versions, after, second_fails=True)
    result = run(["upgrade", "--transaction-per-migration"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    hint = result.event("run.failed")["hint"]
    assert "were committed before the failure" in hint and "the database is now at e1" in hint
    assert "probe" in tables(server, database) and "e2_partial" not in tables(server, database)
    assert query(server, database, "select version_num from alembic_version") == [("e1",)]
    ok = query(server, database, "select revision from migrator_history where success and revision = 'e1'")
    assert ok == [("e1",)]


def test_an_async_env_py_is_refused_with_the_reason(server: Server, database: str, tmp_path: Path) -> None:
    """Alembic's async template cannot run on migrator's locked psycopg2 connection: exit 2, saying why."""
    subprocess.run([ALEMBIC, "init", "-t", "async", "migrations"], cwd=tmp_path, check=True, capture_output=True)
    write_revisions(tmp_path / "migrations" / "versions", None, second_fails=False)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    failed = result.event("run.failed")
    assert "asyncio" in failed["error"] and "synchronous env.py" in failed["hint"]
    assert "probe" not in tables(server, database)


@pytest.mark.parametrize("kind", KINDS)
def test_sigterm_cancels_the_running_statement_whatever_the_env_py(
    kind: str, server: Server, database: str, tmp_path: Path
) -> None:
    """The statement runs on migrator's connection, so SIGTERM cancels it: exit 143, all rolled back."""
    versions, after = make(kind, tmp_path)
    write_revisions(versions, after, second_fails=False, second='op.execute("select pg_sleep(60)")')
    proc = start(["upgrade"], server.url_for(database), cwd=tmp_path)
    sleeping = (
        "select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' and state = 'active' "
        "and pid <> pg_backend_pid()"
    )
    wait_until(lambda: query(server, database, sleeping)[0][0] >= 1, what="the slow migration to run")
    proc.send_signal(signal.SIGTERM)
    result = finish(proc, 0, timeout=30)
    assert result.returncode == 143, result.stderr
    assert "lock.released" in result.names()
    assert "probe" not in tables(server, database)
    assert query(server, database, sleeping)[0][0] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_ddl_lock_timeout_is_retried_whatever_the_env_py(
    kind: str, server: Server, database: str, tmp_path: Path
) -> None:
    """e2's ALTER meets a lock held by another session: it gives up after MIGRATOR_DDL_LOCK_TIMEOUT,
    the run retries on the locked connection and gets through once the blocker commits; e2 once in history."""
    versions, after = make(kind, tmp_path)
    write_revisions(versions, after, second_fails=False, second='op.execute("alter table probe add column extra int")')
    url = server.url_for(database)
    assert run(["upgrade", "e1"], url, cwd=tmp_path).returncode == 0
    engine = server.engine(database)
    waiting = (
        "select count(*) from pg_locks where relation = 'probe'::regclass and not granted and pid <> pg_backend_pid()"
    )
    with engine.connect() as blocker, engine.connect() as observer:
        blocker.exec_driver_sql("begin")
        blocker.exec_driver_sql("select count(*) from probe")
        proc = start(["upgrade"], url, cwd=tmp_path, MIGRATOR_DDL_LOCK_TIMEOUT="0.5", MIGRATOR_DDL_RETRIES="10")
        wait_until(lambda: observer.exec_driver_sql(waiting).scalar_one() > 0, what="the ALTER to queue")
        wait_until(lambda: observer.exec_driver_sql(waiting).scalar_one() == 0, what="the ALTER to give up")
        blocker.exec_driver_sql("commit")
        result = finish(proc, 0)
    engine.dispose()
    assert result.returncode == 0, result.stderr
    assert [e["revision"] for e in result.events if e["event"] == "migration.lock_timeout"][:1] == ["e2"]
    assert query(server, database, "select version_num from alembic_version") == [("e2",)]
    rows = query(server, database, "select count(*) from migrator_history where revision = 'e2' and success")
    assert rows == [(1,)]
