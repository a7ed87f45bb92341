"""One run, one truth (issue 18): every exit code and hint is read from the database at the end."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.conftest import run, wait_until
from tests.support.background import Background
from tests.support.dbutil import execute, query
from tests.support.projects import Revision, recorded_chain, write_project
from tests.support.servers import Server

OWN_COMMIT = [
    Revision("c1", None, upgrade='op.execute("create table items (id int, name text)")'),
    Revision(
        "c2",
        "c1",
        upgrade="op.execute(\"insert into items values (1, 'a')\")\nop.get_bind().commit()",
    ),
    Revision("c3", "c2", upgrade='op.execute("create table after_commit (id int)")'),
    Revision("c4", "c3", upgrade='op.execute("create table later (id int)")'),
]


def versions(server: Server, database: str) -> list[str]:
    return [r[0] for r in query(server, database, "select version_num from alembic_version")]


def test_a_revision_that_commits_itself_is_not_reported_as_head(server: Server, database: str, tmp_path: Path) -> None:
    """op.get_bind().commit() ends Alembic's transaction: what ran after it was never committed. The run
    exits 1 naming where the database stopped (read afterwards), never 0 short of head."""
    write_project(tmp_path, OWN_COMMIT)
    report = tmp_path / "report.json"
    result = run(["upgrade", "--report", str(report)], server.url_for(database), cwd=tmp_path)
    at = versions(server, database)
    assert at != ["c4"]
    assert result.returncode == 1, result.stderr
    failed = result.event("run.failed")
    assert "short of" in failed["error"]
    assert f"the database is at {at[0] if at else 'base'}" in failed["error"]
    assert "run.finished" not in result.names()
    summary = json.loads(report.read_text())
    assert (summary["exit_code"], summary["to_revision"]) == (1, at[0] if at else None)


@pytest.mark.parametrize(
    "where, body",
    [
        ("upgrade", "import sys\nsys.exit(0)"),
        ("upgrade", "raise KeyboardInterrupt"),
        ("upgrade", "raise SystemExit(3)"),
    ],
)
def test_an_exit_raised_by_a_migration_is_a_failed_migration(
    server: Server, database: str, tmp_path: Path, where: str, body: str
) -> None:
    """sys.exit() or a KeyboardInterrupt raised inside upgrade() is exit 1 with run.failed, nothing applied."""
    write_project(
        tmp_path,
        [Revision("a1", None, upgrade='op.execute("create table a (id int)")'), Revision("a2", "a1", upgrade=body)],
    )
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    failed = result.event("run.failed")
    assert failed["error"].startswith("migration a2 failed: ")
    assert "rolled back; the database is still at base" in failed["hint"]
    assert query(server, database, "select to_regclass('a') is null") == [(True,)]


def test_sys_exit_in_env_py_is_a_failure_not_success(server: Server, database: str, tmp_path: Path) -> None:
    """env.py that calls sys.exit(0) has applied nothing: exit 1 with a log line, not 0."""
    write_project(tmp_path, [Revision("a1", None, upgrade='op.execute("create table a (id int)")')])
    env = tmp_path / "migrations" / "env.py"
    env.write_text(
        "import sys\n" + env.read_text().replace("def run(connection):", "def run(connection):\n    sys.exit(0)")
    )
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "sys.exit" in result.event("run.failed")["error"] or "SystemExit" in result.event("run.failed")["error"]


def _sleeping(server: Server, database: str) -> bool:
    sql = "select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()"
    return query(server, database, sql)[0][0] >= 1


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_the_hint_after_a_signal_states_what_is_committed(
    server: Server, database: str, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """Two steps committed one by one, the third cancelled: the hint says so, as read after the cancel."""
    revs = recorded_chain(2)
    revs.append(Revision("r002", "r001", upgrade='op.execute("select pg_sleep(60)")'))
    write_project(tmp_path, revs)
    job = Background(["upgrade", "--transaction-per-migration"], server.url_for(database), tmp_path, tmp_path / "log")
    wait_until(lambda: _sleeping(server, database), what="the slow migration to run")
    job.proc.send_signal(sig)
    result = job.result()
    assert result.returncode == code
    assert versions(server, database) == ["r001"]
    hint = result.event("run.interrupted")["hint"]
    assert "2 migration(s) were committed before the failure (r000, r001); the database is now at r001" in hint


@pytest.mark.parametrize("command", ["sql", "verify"])
def test_sigterm_during_sql_or_verify_ends_it_with_143(
    server: Server, database: str, tmp_path: Path, command: str
) -> None:
    """`sql` (rendering) and `verify` (building its scratch database) do not carry on to exit 0 after
    SIGTERM: the signal is the outcome."""
    started = tmp_path / "running"
    body = f"import time\nopen({str(started)!r}, 'w').close()\ntime.sleep(3)\nop.execute('select 1')"
    write_project(tmp_path, [Revision("a1", None, upgrade=body)])
    args = ["sql", "base:head"] if command == "sql" else ["verify"]
    job = Background(args, server.url_for(database), tmp_path, tmp_path / "log")
    wait_until(started.exists, what=f"{command} to run the revision")
    job.proc.send_signal(signal.SIGTERM)
    result = job.result()
    assert result.returncode == 143
    assert result.event("run.interrupted")["exit_code"] == 143


def test_a_revision_printing_the_url_does_not_leak_the_password(server: Server, database: str, tmp_path: Path) -> None:
    """What the project's own code prints goes through the same masking as migrator's lines."""
    body = "import os\nprint(os.environ['DATABASE_URL'])\nprint('dsn:', os.environ['DATABASE_URL'], flush=True)"
    write_project(tmp_path, [Revision("a1", None, upgrade=body)])
    url = server.url_for(database)
    result = run(["upgrade"], url, cwd=tmp_path)  # run() fails the test on any spelling of the password
    assert result.returncode == 0, result.stderr
    assert "***" in result.stdout


def test_a_failure_after_a_baseline_says_the_stamp_is_committed(server: Server, database: str, tmp_path: Path) -> None:
    """--baseline stamps (committed) before the migrations run: the hint does not say 'still at' the baseline."""
    write_project(tmp_path, [Revision("b1", None), Revision("b2", "b1", upgrade='op.execute("select 1/0")')])
    execute(server, database, "create table legacy (id int)")
    result = run(["upgrade", "--baseline", "b1"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert versions(server, database) == ["b1"]
    assert result.event("run.failed")["hint"].startswith(
        "no migration was committed, but the database is now at b1 (it was at base (no revision) when the run began"
    )


def test_the_hint_after_a_lost_connection_states_what_is_committed(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The migrating backend is terminated at the third step: exit 3, and the hint, read on a fresh
    connection, names the two steps committed one by one before it."""
    revs = recorded_chain(2)
    revs.append(Revision("r002", "r001", upgrade='op.execute("select pg_sleep(60)")'))
    write_project(tmp_path, revs)
    job = Background(["upgrade", "--transaction-per-migration"], server.url_for(database), tmp_path, tmp_path / "log")
    wait_until(lambda: _sleeping(server, database), what="the slow migration to run")
    query(
        server,
        database,
        "select pg_terminate_backend(pid) from pg_stat_activity where query like '%pg_sleep(60)%' "
        "and state = 'active' and pid <> pg_backend_pid()",
    )
    result = job.result()
    assert result.returncode == 3, result.stderr
    assert versions(server, database) == ["r001"]
    hint = result.event("run.failed")["hint"]
    assert "2 migration(s) were committed before the failure (r000, r001); the database is now at r001" in hint


def test_verify_says_a_build_cut_short_by_a_revision_s_own_commit_is_not_drift(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The scratch build runs into the same own COMMIT: verify reads the scratch database afterwards and
    says the migrations do not build (exit 5) naming what was never committed, not model drift (7)."""
    write_project(tmp_path, OWN_COMMIT)
    assert run(["upgrade"], server.url_for(database), cwd=tmp_path).returncode == 1
    result = run(["verify"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 5, result.stdout
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1, result.stdout
    assert "the build ended short of heads" in failed[0] and "never committed" in failed[0]
