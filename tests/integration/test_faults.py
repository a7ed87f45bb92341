"""Real faults: a late or absent server, kill -9 and signals mid-migration, a held lock, a failing migration."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from devtools.embedded_pg import EmbeddedPostgres, free_port
from migrator.core.lock import lock_key
from tests.conftest import Result, run, wait_until
from tests.support.background import Background
from tests.support.dbutil import advisory_locks, query
from tests.support.projects import Revision, recorded_chain, write_project
from tests.support.servers import Server


def table_names(server: Server, database: str) -> set[str]:
    return {r[0] for r in query(server, database, "select tablename from pg_tables where schemaname = 'public'")}


def slow_project(root: Path, seconds: float = 60) -> Path:
    revs = recorded_chain(1)
    revs.append(Revision("r001", "r000", upgrade=f'op.execute("select pg_sleep({seconds})")'))
    write_project(root, revs)
    return root


def test_late_database_is_waited_for(own_server: EmbeddedPostgres, tmp_path: Path) -> None:
    """The runner started before the server migrates once the server comes up."""
    job = Background(["upgrade"], own_server.url(), Path(__file__).parents[2], tmp_path / "log")
    wait_until(lambda: job.logged('"db.waiting"'), what="the runner to retry")
    own_server.start()
    result = job.result()
    assert result.returncode == 0, result.stderr
    assert result.event("db.ready")["attempts"] > 1
    assert result.event("run.finished")["migrations_applied"] == 4  # the app's revisions


def test_unreachable_database_exits_3_within_the_timeout() -> None:
    """Nothing listens: exit 3 once --wait-timeout has passed, with the reason."""
    url = f"postgresql://app:hunter2secret@127.0.0.1:{free_port()}/app"
    result = run(["upgrade", "--wait-timeout", "2"], url)
    assert result.returncode == 3
    failed = result.event("run.failed")
    assert "not reachable within 2s" in failed["error"]
    assert "Connection refused" in failed["error"]
    assert result.elapsed < 30
    assert "hunter2secret" not in result.stderr + result.stdout


def test_wait_command_waits_for_the_server(own_server: EmbeddedPostgres, tmp_path: Path) -> None:
    """`migrator wait` returns 0 once the server accepts connections, 3 when it never does."""
    assert run(["wait", "--wait-timeout", "0"], own_server.url()).returncode == 3
    job = Background(["wait"], own_server.url(), tmp_path, tmp_path / "log")
    wait_until(lambda: job.logged('"db.waiting"'), what="the runner to retry")
    own_server.start()
    assert job.result().returncode == 0


WEIRD_PASSWORD = "p@ss:w/rd%#?\\$x-Zq9"


@pytest.fixture
def weird_role(server: Server, database: str) -> str:
    """A role owning the test database whose password holds @ : / % # ? \\ $."""
    from urllib.parse import quote

    from sqlalchemy.engine import make_url

    role = f"r_{database}"
    engine = server.engine()
    with engine.connect() as conn:
        conn.execute(sa.text(f'create role "{role}" login password :pw'), {"pw": WEIRD_PASSWORD})
        conn.exec_driver_sql(f'alter database "{database}" owner to "{role}"')
    engine.dispose()
    url = make_url(server.url_for(database))
    return f"postgresql://{role}:{quote(WEIRD_PASSWORD, safe='')}@{url.host}:{url.port}/{database}"


def _leaks(result: Result, password: str) -> list[str]:
    from urllib.parse import quote

    output = result.stdout + result.stderr
    forms = {password, quote(password, safe=""), password.replace("\\", "\\\\")}
    return [f for f in forms if f in output]


def test_password_with_special_characters_works(server: Server, database: str, weird_role: str) -> None:
    """A percent-encoded password full of URL delimiters connects and never shows."""
    result = run(["upgrade", "--log-level", "debug"], weird_role)
    assert result.returncode == 0, result.stderr
    assert _leaks(result, WEIRD_PASSWORD) == []


def test_wrong_password_fails_fast_without_leaking(server: Server, database: str, weird_role: str) -> None:
    """Authentication failure: exit 3 at once (no retries), the password nowhere in the output."""
    wrong = "Wr0ng@pa:ss/%25#?\\$"
    url = weird_role.replace(weird_role.split(":")[2].split("@")[0], quote(wrong, safe=""))
    result = run(["upgrade", "--log-level", "debug"], url)
    assert result.returncode == 3
    assert "password authentication failed" in result.event("run.failed")["error"]
    assert "db.waiting" not in result.names()
    assert _leaks(result, "Wr0ng@pa:ss/%#?\\$") == []
    assert "Wr0ng" not in result.stdout + result.stderr


def test_malformed_url_is_a_usage_error_without_leaking() -> None:
    """A URL that does not parse: exit 2, the password masked in the message."""
    result = run(["upgrade"], "postgresql://app:s3cr3t-p4ss@db:notaport/app")
    assert result.returncode == 2
    assert "malformed database URL" in result.event("run.failed")["error"]
    assert "s3cr3t-p4ss" not in result.stderr + result.stdout


def test_concurrent_runners_migrate_exactly_once(server: Server, database: str, tmp_path: Path) -> None:
    """Ten runners at once: every migration body runs once, all exit 0, one of them did the work."""
    write_project(tmp_path, recorded_chain(6, sleep=0.1))
    url = server.url_for(database)
    jobs = [Background(["upgrade"], url, tmp_path, tmp_path / f"log{i}") for i in range(10)]
    results = [job.result(timeout=120) for job in jobs]
    assert [r.returncode for r in results] == [0] * 10, [r.stderr for r in results if r.returncode]
    runs = query(server, database, "select revision, count(*) from body_runs group by revision order by revision")
    assert runs == [(f"r{i:03d}", 1) for i in range(6)]
    applied = sorted(r.event("run.finished")["migrations_applied"] for r in results)
    assert applied == [0] * 9 + [6]
    assert advisory_locks(server, database) == 0


def test_failing_migration_rolls_everything_back(server: Server, database: str, tmp_path: Path) -> None:
    """A migration raising: exit 1, nothing of the run committed, no lock left, the cause logged."""
    revs = recorded_chain(2)
    revs.append(Revision("r002", "r001", upgrade='op.execute("select 1/0")'))
    write_project(tmp_path, revs)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1
    failed = result.event("run.failed")
    assert "division by zero" in failed["error"]
    assert "base (no revision)" in failed["hint"]
    assert "ZeroDivision" in failed["exception"] or "DivisionByZero" in failed["exception"]
    assert table_names(server, database) == {"migrator_history"}  # only the record of the failure
    assert query(server, database, "select revision, direction, success from migrator_history") == [
        ("r002", "upgrade", False)
    ]
    assert advisory_locks(server, database) == 0


def test_transaction_per_migration_keeps_the_ones_before_a_failure(
    server: Server, database: str, tmp_path: Path
) -> None:
    """--transaction-per-migration commits each step: a failure keeps the earlier ones."""
    revs = recorded_chain(2)
    revs.append(Revision("r002", "r001", upgrade='op.execute("select 1/0")'))
    write_project(tmp_path, revs)
    result = run(["upgrade", "--transaction-per-migration"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1
    assert query(server, database, "select version_num from alembic_version") == [("r001",)]
    assert query(server, database, "select revision from body_runs order by revision") == [("r000",), ("r001",)]


def _running_sleep(server: Server, database: str) -> bool:
    sql = "select count(*) from pg_stat_activity where application_name = 'migrator' and query like '%pg_sleep%'"
    return query(server, database, sql)[0][0] == 1


def test_kill_9_leaves_no_lock_and_no_partial_migration(server: Server, database: str, tmp_path: Path) -> None:
    """kill -9 mid-migration: the server drops the session, its lock and its transaction."""
    slow_project(tmp_path)
    job = Background(["upgrade"], server.url_for(database), tmp_path, tmp_path / "log")
    wait_until(lambda: _running_sleep(server, database), what="the slow migration to run")
    assert advisory_locks(server, database) == 1
    job.proc.kill()
    job.result()
    wait_until(lambda: advisory_locks(server, database) == 0, what="the lock to go with the session")
    assert table_names(server, database) == set()
    write_project(tmp_path, recorded_chain(2))  # the slow step fixed, as an operator would
    again = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert query(server, database, "select revision from body_runs order by revision") == [("r000",), ("r001",)]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_cancels_rolls_back_and_exits(
    server: Server, database: str, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """SIGTERM/SIGINT mid-statement: cancelled, rolled back, lock released, exit 143/130."""
    slow_project(tmp_path)
    job = Background(["upgrade"], server.url_for(database), tmp_path, tmp_path / "log")
    wait_until(lambda: _running_sleep(server, database), what="the slow migration to run")
    signalled = time.monotonic()
    os.kill(job.proc.pid, sig)
    result = job.result()
    assert result.returncode == code
    assert time.monotonic() - signalled < 8  # well inside the 10 s grace: a clean cancel, not the hard exit
    assert result.event("run.interrupted")["exit_code"] == code
    assert "lock.released" in result.names()
    assert advisory_locks(server, database) == 0
    assert table_names(server, database) == set()


@pytest.mark.parametrize("fast_path", ["1", "0"], ids=["light-path", "full-path"])
def test_lock_held_elsewhere_times_out_with_exit_4(server: Server, database: str, fast_path: str) -> None:
    """Another session holds the lock: the runner names the holder and gives up with 4."""
    engine = server.engine(database)
    with engine.connect() as blocker:
        blocker.exec_driver_sql("set application_name = 'blocker'")
        blocker.execute(sa.text("select pg_advisory_lock(:k)"), {"k": lock_key("alembic_version", None)})
        pid = blocker.exec_driver_sql("select pg_backend_pid()").scalar_one()
        result = run(["upgrade", "--lock-timeout", "1"], server.url_for(database), MIGRATOR_FAST_PATH=fast_path)
    engine.dispose()
    assert result.returncode == 4
    waiting = result.event("lock.waiting")
    assert (waiting["holder_pid"], waiting["holder_application_name"]) == (pid, "blocker")
    assert f"pid {pid}" in result.event("run.failed")["error"]
    assert table_names(server, database) == set()


def _waiting_without_a_transaction(server: Server, database: str) -> bool:
    """The waiter's session is idle with no transaction and no snapshot (it LISTENs for the unlock)."""
    sql = (
        "select count(*) from pg_stat_activity where application_name = 'migrator' "
        "and state = 'idle' and xact_start is null and backend_xmin is null"
    )
    return query(server, database, sql)[0][0] == 1


@pytest.mark.parametrize("fast_path", ["1", "0"], ids=["light-path", "full-path"])
def test_waiter_waits_in_the_server_and_migrates_when_the_holder_lets_go(
    server: Server, database: str, tmp_path: Path, fast_path: str
) -> None:
    """A runner finding the lock held waits holding no transaction, and migrates once it is free
    (here the holder lets go without announcing it, as a crashed one would: the waiter's retry finds out)."""
    write_project(tmp_path, recorded_chain(2))
    engine = server.engine(database)
    with engine.connect() as blocker:
        key = lock_key("alembic_version", None)
        blocker.execute(sa.text("select pg_advisory_lock(:k)"), {"k": key})
        url = server.url_for(database)
        job = Background(["upgrade"], url, tmp_path, tmp_path / "log", MIGRATOR_FAST_PATH=fast_path)
        wait_until(lambda: job.logged('"lock.waiting"'), what="the runner to find the lock held")
        # no snapshot held: a CREATE INDEX CONCURRENTLY of the holder would not wait for this session
        wait_until(lambda: _waiting_without_a_transaction(server, database), what="the waiter to sit idle")
        blocker.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": key})
        result = job.result(timeout=60)
    engine.dispose()
    assert result.returncode == 0, result.stderr
    assert result.event("run.finished")["migrations_applied"] == 2
    assert query(server, database, "select revision from body_runs order by revision") == [("r000",), ("r001",)]
    assert advisory_locks(server, database) == 0


@pytest.mark.parametrize("fast_path", ["1", "0"], ids=["light-path", "full-path"])
def test_waiters_race_when_the_holder_lets_go_short_of_head(
    server: Server, database: str, tmp_path: Path, fast_path: str
) -> None:
    """The session they waited for unlocks without migrating: one waiter migrates, the rest exit 0 at head."""
    write_project(tmp_path, recorded_chain(3, sleep=0.2))
    engine = server.engine(database)
    with engine.connect() as blocker:
        key = lock_key("alembic_version", None)
        blocker.execute(sa.text("select pg_advisory_lock(:k)"), {"k": key})
        url = server.url_for(database)
        jobs = [
            Background(["upgrade"], url, tmp_path, tmp_path / f"log{i}", MIGRATOR_FAST_PATH=fast_path) for i in range(4)
        ]
        for job in jobs:
            wait_until(lambda job=job: job.logged('"lock.waiting"'), what="every runner to find the lock held")
        blocker.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": key})
        results = [job.result(timeout=60) for job in jobs]
    engine.dispose()
    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results if r.returncode]
    assert sorted(r.event("run.finished")["migrations_applied"] for r in results) == [0, 0, 0, 3]
    runs = query(server, database, "select revision, count(*) from body_runs group by revision order by revision")
    assert runs == [("r000", 1), ("r001", 1), ("r002", 1)]
    assert advisory_locks(server, database) == 0


def test_check_wait_for_head_returns_once_migrated(server: Server, database: str, tmp_path: Path) -> None:
    """`check --wait-for-head` polls until another process has migrated the database."""
    url = server.url_for(database)
    job = Background(["check", "--wait-for-head", "60"], url, Path(__file__).parents[2], tmp_path / "log")
    wait_until(lambda: job.logged("check.waiting_for_head"), what="check to start waiting")
    assert run(["upgrade"], url).returncode == 0
    result = job.result()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "at head: c3d4e5f6a7b8"


def test_check_wait_for_head_gives_up_with_6(server: Server, database: str) -> None:
    """Head never reached within the wait: exit 6 with the pending list."""
    result = run(["check", "--wait-for-head", "1"], server.url_for(database))
    assert result.returncode == 6
    assert len(result.stdout.splitlines()) == 4  # the app's revisions


@pytest.mark.parametrize("fast_path", ["1", "0"], ids=["light-path", "full-path"])
def test_signal_while_waiting_for_the_lock_exits_at_once(
    server: Server, database: str, tmp_path: Path, fast_path: str
) -> None:
    """SIGTERM while waiting for the lock: the wait ends, exit 143 at once."""
    engine = server.engine(database)
    with engine.connect() as blocker:
        blocker.execute(sa.text("select pg_advisory_lock(:k)"), {"k": lock_key("alembic_version", None)})
        url = server.url_for(database)
        job = Background(["upgrade"], url, Path(__file__).parents[2], tmp_path / "log", MIGRATOR_FAST_PATH=fast_path)
        wait_until(lambda: _waiting_without_a_transaction(server, database), what="the waiter to sit idle")
        job.proc.send_signal(signal.SIGTERM)
        result = job.result(timeout=30)
    engine.dispose()
    assert result.returncode == 143
    assert result.event("run.interrupted")["error"] == "interrupted by SIGTERM"


def test_console_format_is_the_readable_form_of_the_same_events(server: Server, database: str) -> None:
    """--log-format console: one readable line per event, same names, no JSON."""
    from tests.conftest import start

    proc = start(["upgrade", "--log-format", "console"], server.url_for(database))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0
    lines = stderr.splitlines()
    for name in ("db.ready", "lock.acquired", "migration.started", "migration.applied", "run.finished"):
        assert any(name in line and "[info" in line for line in lines), name
    assert not any(line.lstrip().startswith("{") for line in lines)
