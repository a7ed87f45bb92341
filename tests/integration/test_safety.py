"""Production safety: history with checksums, safe DDL timeouts, baseline, report, backup hook."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from src.database import Base
from tests.conftest import run
from tests.support.dbutil import query
from tests.support.projects import Revision, recorded_chain, write_project
from tests.support.servers import Server


def chain_with_table() -> list[Revision]:
    """r000 records runs, r001 creates `items`, r002 alters it (needs ACCESS EXCLUSIVE)."""
    revs = recorded_chain(1)
    revs.append(Revision("r001", "r000", upgrade='op.execute("create table items (id int)")'))
    revs.append(Revision("r002", "r001", upgrade='op.execute("alter table items add column note text")'))
    return revs


def test_history_records_each_revision_with_its_checksum(server: Server, database: str, tmp_path: Path) -> None:
    """After upgrade and downgrade, `history --applied` lists what happened, with checksums."""
    write_project(tmp_path, recorded_chain(3))
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    assert run(["downgrade"], url, cwd=tmp_path).returncode == 0
    rows = query(
        server,
        database,
        "select revision, direction, success, length(checksum), duration_ms >= 0, db_user = current_user, "
        "migrator_version from migrator_history order by id",
    )
    assert rows == [
        ("r000", "upgrade", True, 64, True, True, "0.1.0"),
        ("r001", "upgrade", True, 64, True, True, "0.1.0"),
        ("r002", "upgrade", True, 64, True, True, "0.1.0"),
        ("r002", "downgrade", True, 64, True, True, "0.1.0"),
    ]
    printed = run(["history", "--applied"], url, cwd=tmp_path)
    assert printed.returncode == 0
    lines = printed.stdout.splitlines()
    assert lines[0].split()[:5] == ["started_at", "direction", "revision", "duration_ms", "result"]
    assert [line.split()[1:3] for line in lines[1:]] == [
        ["upgrade", "r000"],
        ["upgrade", "r001"],
        ["upgrade", "r002"],
        ["downgrade", "r002"],
    ]


def test_edited_applied_migration_is_refused_unless_allowed(server: Server, database: str, tmp_path: Path) -> None:
    """Editing an applied file: exit 5 naming it; --allow-changed (or the env) lets it through once recorded."""
    write_project(tmp_path, recorded_chain(2))
    url = server.url_for(database)
    assert run(["upgrade", "r000"], url, cwd=tmp_path).returncode == 0
    edited = tmp_path / "migrations" / "versions" / "r000.py"
    edited.write_text(edited.read_text() + "\n# tidied up after it ran\n")
    refused = run(["upgrade"], url, cwd=tmp_path)
    assert refused.returncode == 5
    failed = refused.event("run.failed")
    assert "r000" in failed["error"] and "changed since" in failed["error"]
    assert "--allow-changed r000" in failed["hint"]
    assert query(server, database, "select version_num from alembic_version") == [("r000",)]
    dry = run(["upgrade", "--dry-run"], url, cwd=tmp_path)
    assert (dry.returncode, dry.stdout) == (5, "")  # a dry run refuses what the real run would
    assert "changed since" in dry.event("run.failed")["error"]
    dry_allowed = run(["upgrade", "--dry-run", "--allow-changed", "r000"], url, cwd=tmp_path)
    assert dry_allowed.returncode == 0, dry_allowed.stderr
    assert dry_allowed.stdout.startswith("-- pending: r001")
    assert dry_allowed.event("checksum.change_accepted")["revisions"] == ["r000"]
    pending = run(["check"], url, cwd=tmp_path, MIGRATOR_FAST_PATH="0")
    assert pending.returncode == 6  # check is read-only and does not refuse
    allowed = run(["upgrade", "--allow-changed", "r000"], url, cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.event("checksum.change_accepted")["revisions"] == ["r000"]
    assert run(["downgrade"], url, cwd=tmp_path).returncode == 0
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0  # the accepted change is now the record
    edited.write_text(edited.read_text().replace("tidied up", "changed again"))
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 5  # the fast path does not skip past it
    assert run(["upgrade"], url, cwd=tmp_path, MIGRATOR_ALLOW_CHANGED="r000").returncode == 0


def test_revisions_applied_before_history_are_never_refused(server: Server, database: str, tmp_path: Path) -> None:
    """A database migrated before migrator kept history: old revisions recorded without checksum."""
    write_project(tmp_path, recorded_chain(3))
    url = server.url_for(database)
    assert run(["upgrade", "r001"], url, cwd=tmp_path).returncode == 0
    query(server, database, "drop table migrator_history; select 1")
    old = tmp_path / "migrations" / "versions" / "r000.py"
    old.write_text(old.read_text() + "\n# edited long ago\n")
    result = run(["upgrade"], url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = query(server, database, "select revision, direction, checksum is null from migrator_history order by id")
    assert rows == [("r000", "preexisting", True), ("r001", "preexisting", True), ("r002", "upgrade", False)]


def _hold_share_lock(server: Server, database: str, release_after: float | None, ready: threading.Event) -> None:
    engine = server.engine(database)
    with engine.connect() as conn:
        conn.exec_driver_sql("set application_name = 'long-report'")
        conn.exec_driver_sql("begin")
        conn.exec_driver_sql("select count(*) from items")
        ready.set()
        time.sleep(release_after if release_after is not None else 30)
        conn.exec_driver_sql("commit")
    engine.dispose()


def _app_query_latencies(server: Server, database: str, stop: threading.Event, out: list[float]) -> None:
    """What the application sees: plain reads of the table while the migration retries."""
    engine = server.engine(database)
    with engine.connect() as conn:
        while not stop.is_set():
            started = time.monotonic()
            conn.exec_driver_sql("select count(*) from items")
            out.append(time.monotonic() - started)
            time.sleep(0.05)
    engine.dispose()


def test_ddl_lock_timeout_retries_until_the_blocker_commits(server: Server, database: str, tmp_path: Path) -> None:
    """A long transaction holds a lock: the ALTER gives up after lock_timeout, retries, then gets through."""
    write_project(tmp_path, chain_with_table())
    url = server.url_for(database)
    assert run(["upgrade", "r001"], url, cwd=tmp_path).returncode == 0
    ready, done = threading.Event(), threading.Event()
    latencies: list[float] = []
    blocker = threading.Thread(target=_hold_share_lock, args=(server, database, 3.0, ready))
    blocker.start()
    ready.wait(10)
    reader = threading.Thread(target=_app_query_latencies, args=(server, database, done, latencies))
    reader.start()
    result = run(["upgrade"], url, cwd=tmp_path, MIGRATOR_DDL_LOCK_TIMEOUT="0.5", MIGRATOR_DDL_RETRIES="10")
    done.set()
    reader.join()
    blocker.join()
    assert result.returncode == 0, result.stderr
    retries = [e for e in result.events if e["event"] == "migration.lock_timeout"]
    assert retries and retries[0]["revision"] == "r002"
    assert any("long-report" in b for e in retries for b in e["blockers"])
    assert query(server, database, "select version_num from alembic_version") == [("r002",)]
    # The application never queued behind the waiting ALTER for longer than the lock timeout.
    assert latencies and max(latencies) < 0.5 + 1.0


def test_ddl_lock_timeout_gives_up_naming_the_blocker(server: Server, database: str, tmp_path: Path) -> None:
    """The blocker never commits: exit 1 after the retries, naming its pid and application_name."""
    write_project(tmp_path, chain_with_table())
    url = server.url_for(database)
    assert run(["upgrade", "r001"], url, cwd=tmp_path).returncode == 0
    engine = server.engine(database)
    with engine.connect() as blocker:
        blocker.exec_driver_sql("set application_name = 'stuck-job'")
        blocker.exec_driver_sql("begin")
        blocker.exec_driver_sql("select count(*) from items")
        pid = blocker.exec_driver_sql("select pg_backend_pid()").scalar_one()
        result = run(["upgrade"], url, cwd=tmp_path, MIGRATOR_DDL_LOCK_TIMEOUT="0.5", MIGRATOR_DDL_RETRIES="1")
        blocker.exec_driver_sql("rollback")
    engine.dispose()
    assert result.returncode == 1
    error = result.event("run.failed")["error"]
    assert f"pid {pid}" in error and "stuck-job" in error and "query started" in error
    assert query(server, database, "select version_num from alembic_version") == [("r001",)]


def test_statement_timeout_bounds_each_statement(server: Server, database: str, tmp_path: Path) -> None:
    """MIGRATOR_STATEMENT_TIMEOUT cancels a statement that runs too long: exit 1, rolled back."""
    revs = recorded_chain(1)
    revs.append(Revision("r001", "r000", upgrade='op.execute("select pg_sleep(5)")'))
    write_project(tmp_path, revs)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path, MIGRATOR_STATEMENT_TIMEOUT="0.5")
    assert result.returncode == 1
    assert "statement timeout" in result.event("run.failed")["error"]


def test_baseline_adopts_a_database_built_by_create_all(server: Server, database: str) -> None:
    """--baseline REV on a create_all() database: stamped, recorded, then upgraded to head."""
    engine = server.engine(database)
    Base.metadata.create_all(engine)
    with engine.connect() as conn:  # the old app's schema
        conn.exec_driver_sql("alter table packing_items drop column actually_used")
        conn.exec_driver_sql("alter table users rename column avatar_url to profile_picture")
    engine.dispose()
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 5  # without it, the refusal stands
    result = run(["upgrade", "--baseline", "36a04cd7adbc"], url)
    assert result.returncode == 0, result.stderr
    assert result.event("run.baselined")["revision"] == "36a04cd7adbc"
    assert query(server, database, "select revision, direction from migrator_history order by id") == [
        ("36a04cd7adbc", "baseline"),
        ("a1b2c3d4e5f6", "upgrade"),
        ("b2c3d4e5f6a7", "upgrade"),
        ("c3d4e5f6a7b8", "upgrade"),
    ]
    columns = query(
        server,
        database,
        "select column_name from information_schema.columns "
        "where column_name in ('actually_used', 'avatar_url', 'profile_picture') order by 1",
    )
    assert columns == [("actually_used",), ("avatar_url",)]


def test_report_file_summarises_every_run(server: Server, database: str, tmp_path: Path) -> None:
    """--report FILE gets one JSON line: status, exit code, revisions, applied with durations, run id."""
    url = server.url_for(database)
    report = tmp_path / "report.json"
    ok = run(["upgrade", "--report", str(report)], url)
    assert ok.returncode == 0
    summary = json.loads(report.read_text())
    assert report.read_text().count("\n") == 1
    assert {k: summary[k] for k in ("status", "exit_code", "command", "from_revision", "to_revision")} == {
        "status": "ok",
        "exit_code": 0,
        "command": "upgrade",
        "from_revision": "base (no revision)",
        "to_revision": "c3d4e5f6a7b8",
    }
    assert [a["revision"] for a in summary["applied"]] == [
        "36a04cd7adbc",
        "a1b2c3d4e5f6",
        "b2c3d4e5f6a7",
        "c3d4e5f6a7b8",
    ]
    assert all(isinstance(a["duration_ms"], int) for a in summary["applied"])
    assert summary["run_id"] == ok.event("run.finished")["run_id"]
    again = run(["upgrade"], url, MIGRATOR_REPORT=str(report))
    assert json.loads(report.read_text())["applied"] == [] and again.returncode == 0
    failed = run(["upgrade", "deadbeef", "--report", str(report)], url)
    summary = json.loads(report.read_text())
    assert (failed.returncode, summary["status"], summary["exit_code"]) == (5, "failed", 5)
    assert "deadbeef" in summary["error"]


def test_failing_backup_leaves_the_database_untouched(server: Server, database: str, tmp_path: Path) -> None:
    """--backup-command that fails: exit 1 before any change; one that works gets libpq's variables."""
    url = server.url_for(database)
    failed = run(["upgrade", "--backup-command", "echo disk full >&2; exit 3"], url)
    assert failed.returncode == 1
    assert "disk full" in failed.event("run.failed")["error"]
    assert query(server, database, "select count(*) from pg_tables where schemaname = 'public'") == [(0,)]
    seen = tmp_path / "backup.txt"
    command = f'echo "$PGDATABASE $MIGRATOR_FROM_REVISION" > {seen}'
    assert run(["upgrade", "--backup-command", command], url).returncode == 0
    assert seen.read_text().strip() == f"{database} base (no revision)"
    seen.unlink()
    assert run(["upgrade"], url, MIGRATOR_BACKUP_COMMAND=command, MIGRATOR_FAST_PATH="0").returncode == 0
    assert not seen.exists()  # nothing to apply: no backup


def test_backup_with_pg_dump(server: Server, database: str, tmp_path: Path) -> None:
    """The README's pg_dump example produces a dump before the upgrade."""
    from devtools.embedded_pg import _bin

    dump = tmp_path / "before.dump"
    pg_dump = _bin("pg_dump")  # pgserver's PostgreSQL 16 client dumps a 15 or 16 server alike
    result = run(["upgrade", "--backup-command", f"{pg_dump} -Fc -f {dump}"], server.url_for(database))
    assert result.returncode == 0, result.stderr
    assert dump.stat().st_size > 0
    assert "backup.finished" in result.names()
