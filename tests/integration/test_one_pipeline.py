"""Bugs of the two-stack days, each closed through the real CLI (issue 9, point 4)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa

from migrator.core.lock import lock_key
from tests.conftest import REPO, finish, run, start, wait_until
from tests.support.dbutil import advisory_locks, copy_app, query
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

WAITING = "select pid from pg_stat_activity where application_name = 'migrator' and state = 'idle'"
TERMINATE = "select bool_or(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'migrator'"
INDEX_CHAIN = [
    Revision("i1", None, upgrade='op.execute("create table items (id int, name text)")'),
    Revision(
        "i2",
        "i1",
        upgrade="with op.get_context().autocommit_block():\n"
        '    op.execute("create index concurrently items_name on items (name)")',
    ),
    Revision("i3", "i2", upgrade='op.execute("create table after_index (id int)")'),
]


def invalid_indexes(server: Server, database: str) -> list[tuple[str]]:
    sql = "select indexrelid::regclass::text from pg_index where not indisvalid"
    return [(r[0],) for r in query(server, database, sql)]


def test_autocommit_block_runs_in_the_default_mode_as_under_bare_alembic(
    server: Server, database: str, tmp_path: Path
) -> None:
    """CREATE INDEX CONCURRENTLY inside autocommit_block(): no AssertionError; every revision applied."""
    write_project(tmp_path, INDEX_CHAIN)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(server, database, "select version_num from alembic_version") == [("i3",)]
    assert invalid_indexes(server, database) == []


def test_a_failure_after_an_autocommit_block_states_what_was_committed(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The block commits what came before it (i1); i2's version change goes on in the new transaction
    with i3 and is rolled back with it. The hint and the report state that, as read from the database,
    and the committed revision has its history row."""
    failing = [*INDEX_CHAIN[:2], Revision("i3", "i2", upgrade='op.execute("select 1/0")')]
    write_project(tmp_path, failing)
    report = tmp_path / "report.json"
    result = run(["upgrade", "--report", str(report)], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1
    failed = result.event("run.failed")
    assert failed["error"].startswith("migration i3 failed: ")
    assert "1 migration(s) were committed before the failure (i1); the database is now at i1" in failed["hint"]
    summary = json.loads(report.read_text())
    assert (summary["failed_revision"], summary["to_revision"]) == ("i3", "i1")
    assert [a["revision"] for a in summary["applied"]] == ["i1"]
    rows = query(server, database, "select revision, success from migrator_history order by id")
    assert rows == [("i1", True), ("i3", False)]


def test_ten_runners_on_a_chain_with_create_index_concurrently_all_succeed(
    server: Server, database: str, tmp_path: Path
) -> None:
    """Waiters hold no snapshot, so the holder's CREATE INDEX CONCURRENTLY never waits for them."""
    write_project(tmp_path, INDEX_CHAIN)
    url = server.url_for(database)
    procs = [start(["upgrade"], url, cwd=tmp_path) for _ in range(10)]
    results = [finish(proc, 0, timeout=120) for proc in procs]
    assert [r.returncode for r in results] == [0] * 10, [r.stderr for r in results if r.returncode]
    assert invalid_indexes(server, database) == []
    assert sum(r.events[-1].get("migrations_applied", 0) for r in results) == 3


def test_fixing_a_failed_first_migration_is_enough(server: Server, database: str, tmp_path: Path) -> None:
    """migrator's own tables never count as the application's: fail the first migration, fix it, upgrade."""
    write_project(tmp_path, [Revision("f1", None, upgrade='op.execute("create tabel typo (id int)")')])
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 1
    write_project(tmp_path, [Revision("f1", None, upgrade='op.execute("create table typo (id int)")')])
    result = run(["upgrade"], url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(server, database, "select version_num from alembic_version") == [("f1",)]


def test_each_revision_file_is_executed_once_per_run(server: Server, database: str, tmp_path: Path) -> None:
    """Loading the scripts twice would run every module-level statement twice."""
    revisions = [Revision(f"m{i}", f"m{i - 1}" if i else None) for i in range(5)]
    write_project(tmp_path, revisions)
    counter = tmp_path / "loads"
    for path in (tmp_path / "migrations" / "versions").glob("*.py"):
        path.write_text(f"open({str(counter)!r}, 'a').write('x')\n" + path.read_text())
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(counter.read_text()) == 5


def test_an_accepted_change_is_recorded_whichever_stage_runs(server: Server, database: str, tmp_path: Path) -> None:
    """upgrade --allow-changed REV at head records the acceptance; the next plain upgrade exits 0, light."""
    write_project(tmp_path, [Revision("a1", None), Revision("a2", "a1")])
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    edited = tmp_path / "migrations" / "versions" / "a1.py"
    edited.write_text(edited.read_text() + "\n# a harmless comment\n")
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 5
    assert run(["check"], url, cwd=tmp_path).returncode == 5
    assert run(["upgrade", "--allow-changed", "a1"], url, cwd=tmp_path).returncode == 0
    again = run(["upgrade"], url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert any(e.get("fast_path") for e in again.events)


def test_a_malformed_alembic_ini_is_a_usage_error_in_one_line(server: Server, database: str, tmp_path: Path) -> None:
    """configparser's complaint, first line only, exit 2, no traceback."""
    (tmp_path / "alembic.ini").write_text("[alembic\nscript_location = x\n")
    for args in (["upgrade"], ["current"], ["heads"]):
        result = run(args, server.url_for(database), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.event("run.failed")["error"].startswith(f"cannot read {Path('alembic.ini')}")


def test_a_revision_that_fails_to_import_is_named(server: Server, database: str, tmp_path: Path) -> None:
    """ModuleNotFoundError in a revision: exit 2, the file's path and the error in the message."""
    write_project(tmp_path, [Revision("n1", None)])
    broken = tmp_path / "migrations" / "versions" / "n1.py"
    broken.write_text("import no_such_module_here\n" + broken.read_text())
    for args in (["upgrade"], ["current"], ["history"]):
        result = run(args, server.url_for(database), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        failed = result.event("run.failed")
        assert str(broken) in failed["error"] and "no_such_module_here" in failed["error"]
        assert str(broken) in failed["hint"]


def test_verify_without_models_says_not_compared_and_passes(server: Server, database: str, tmp_path: Path) -> None:
    """An env.py with no target_metadata has nothing to compare: that is not drift."""
    write_project(tmp_path, [Revision("v1", None)])
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    result = run(["verify"], url, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not compared" in result.stdout


def test_plain_alembic_works_again_in_this_repository(server: Server, database: str, tmp_path: Path) -> None:
    """`alembic upgrade head` and `alembic current` take the URL from DATABASE_URL, as migrator does."""
    copy_app(tmp_path)
    env = {"PATH": str(Path(REPO / ".venv" / "bin")), "DATABASE_URL": server.url_for(database)}
    alembic = str(REPO / ".venv" / "bin" / "alembic")
    up = subprocess.run([alembic, "upgrade", "head"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    current = subprocess.run([alembic, "current"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "c3d4e5f6a7b8 (head)" in current.stdout, current.stderr


def test_merge_writes_the_revision_that_joins_two_heads(server: Server, database: str, tmp_path: Path) -> None:
    """The guide's two-heads step: `migrator merge -m ...` and then `upgrade` reaches the single head."""
    write_project(tmp_path, [Revision("h0", None), Revision("h1", "h0"), Revision("h2", "h0")])
    shutil.copy(REPO / "alembic" / "script.py.mako", tmp_path / "migrations")
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 5
    merged = run(["merge", "-m", "join the branches"], None, cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert Path(merged.event("revision.created")["path"]).read_text().count("join the branches") >= 1
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    heads = run(["heads"], None, cwd=tmp_path)
    assert heads.stdout.count("(head)") == 1


def test_a_lost_connection_while_waiting_for_the_lock_is_exit_3(server: Server, database: str, tmp_path: Path) -> None:
    """The waiter's backend is terminated: exit 3 (retryable), on either stage, never a crash."""
    write_project(tmp_path, [Revision("w1", None)])
    url = server.url_for(database)
    engine = server.engine(database)
    for fast_path in ("1", "0"):
        with engine.connect() as holder:
            holder.execute(sa.text("select pg_advisory_lock(:k)"), {"k": lock_key("alembic_version", None)})
            proc = start(["upgrade", "--lock-timeout", "60"], url, cwd=tmp_path, MIGRATOR_FAST_PATH=fast_path)
            wait_until(lambda: bool(holder.execute(sa.text(WAITING)).all()), what="the runner to wait")
            wait_until(lambda: bool(holder.execute(sa.text(TERMINATE)).scalar()), what="its backend to be ended")
            result = finish(proc, 0)
            holder.execute(sa.text("select pg_advisory_unlock_all()"))
        assert result.returncode == 3, result.stderr
        assert "run.crashed" not in result.names()
    engine.dispose()


def test_current_on_an_empty_database_says_base_and_downgrade_there_has_nothing_to_do(
    server: Server, database: str, tmp_path: Path
) -> None:
    """`current` prints `base` (Alembic prints nothing); `downgrade` at base exits 0 saying so."""
    write_project(tmp_path, [Revision("d1", None)])
    url = server.url_for(database)
    current = run(["current"], url, cwd=tmp_path)
    assert (current.returncode, current.stdout) == (0, "base\n")
    down = run(["downgrade"], url, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert down.event("run.nothing_to_do")["reason"] == "already at base"
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    assert run(["current"], url, cwd=tmp_path).stdout.startswith("d1")


def test_a_connection_lost_during_the_migrations_is_exit_3_on_either_stage(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The light stage took the lock and handed its connection over (or the full stage took it):
    the backend is terminated in the middle of a migration; exit 3, no crash, the hint states what
    is committed, read again on a fresh connection; nothing half-applied, no lock left, and a rerun migrates."""
    write_project(
        tmp_path,
        [
            Revision("k1", None, upgrade='op.execute("create table k1 (id int)")'),
            Revision("k2", "k1", upgrade='op.execute("select pg_sleep(60)")'),
        ],
    )
    url = server.url_for(database)
    sleeping = (
        "select pid from pg_stat_activity where query like '%pg_sleep(60)%' and state = 'active' "
        "and pid <> pg_backend_pid()"
    )
    for fast_path in ("1", "0"):
        proc = start(["upgrade"], url, cwd=tmp_path, MIGRATOR_FAST_PATH=fast_path)
        wait_until(lambda: bool(query(server, database, sleeping)), what="the slow migration to run")
        query(server, database, sleeping.replace("select pid", "select pg_terminate_backend(pid)"))
        result = finish(proc, 0)
        assert result.returncode == 3, (fast_path, result.stderr)
        assert "run.crashed" not in result.names()
        hint = result.event("run.failed")["hint"]  # read on a fresh connection after the loss
        assert hint == "rolled back; the database is still at base (no revision); run again once it is back"
        assert not query(server, database, "select 1 from pg_class where relname in ('k1', 'alembic_version')")
        wait_until(lambda: advisory_locks(server, database) == 0, what="the lock to go with the backend")
    (tmp_path / "migrations" / "versions").joinpath("k2.py").write_text(
        (tmp_path / "migrations" / "versions" / "k2.py").read_text().replace("select pg_sleep(60)", "select 1")
    )
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0


FLAG_CASES = {
    "config-flag": (["upgrade", "-c", "{root}/alembic.ini"], {}),
    "config-env": (["upgrade"], {"ALEMBIC_CONFIG": "{root}/alembic.ini"}),
    "per-migration": (["upgrade", "--transaction-per-migration"], {}),
    "allow-changed": (["upgrade", "--allow-changed", "f1"], {}),
    "baseline": (["upgrade", "--baseline", "f1"], {}),
    "heads": (["upgrade", "heads"], {}),
    "target-env": (["check"], {"MIGRATOR_TARGET": "heads"}),
    "check-wait": (["check", "--wait-for-head", "1"], {}),
    "quiet": (["upgrade", "--log-level", "warning"], {}),
    "report": (["upgrade", "--report", "{root}/report-{stage}.json"], {}),
}


def test_every_flag_gets_the_same_answer_from_both_stages(server: Server, database: str, tmp_path: Path) -> None:
    """At head: each flag and variable gives the same exit code, stdout,
    log level and report whether the light stage or the full stage answers."""
    root = tmp_path / "project"
    write_project(root, [Revision("f1", None), Revision("f2", "f1")])
    url = server.url_for(database)
    assert run(["upgrade", "-c", str(root / "alembic.ini")], url, cwd=tmp_path).returncode == 0
    levels = {"debug": 0, "info": 1, "warning": 2, "error": 3}
    for name, (args, env) in FLAG_CASES.items():
        answers = []
        for stage, fast_path in (("light", "1"), ("full", "0")):
            argv = [a.format(root=root, stage=stage) for a in args]
            extra = {k: v.format(root=root) for k, v in env.items()}
            cwd = tmp_path if name.startswith("config") else root  # the config cases run from elsewhere
            result = run(argv, url, cwd=cwd, MIGRATOR_FAST_PATH=fast_path, **extra)
            if result.events:  # --log-level warning: a quiet success has none
                took_light = any(e.get("fast_path") for e in result.events)
                assert (stage == "light") == took_light, (name, stage, result.stderr)
            lowest = min(levels[e["level"]] for e in result.events) if result.events else 3
            report = root / f"report-{stage}.json"
            summary = json.loads(report.read_text()) if report.exists() else {}
            kept = {k: summary.get(k) for k in ("status", "exit_code", "from_revision", "to_revision", "applied")}
            answers.append((result.returncode, result.stdout, lowest, kept))
        assert answers[0] == answers[1], name
        assert answers[0][0] == 0, (name, answers)
        if name == "quiet":
            assert answers[0][2] >= levels["warning"], "an info line under --log-level warning"
        if name == "report":
            assert answers[0][3]["status"] == "ok" and answers[0][3]["to_revision"] == "f2"
