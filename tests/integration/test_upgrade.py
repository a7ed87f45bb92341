"""The application's migrations through the real CLI: upgrade, rerun, down and up, read-only commands."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import REPO, Result, run
from tests.support.dbutil import advisory_locks, tables, version
from tests.support.servers import Server

INITIAL = "36a04cd7adbc"
ACTUALLY_USED = "a1b2c3d4e5f6"
AVATAR_EXPAND, HEAD = "b2c3d4e5f6a7", "c3d4e5f6a7b8"  # users.profile_picture renamed to avatar_url
REVISIONS = [INITIAL, ACTUALLY_USED, AVATAR_EXPAND, HEAD]
APP_TABLES = {"users", "trips", "travelers", "packing_items", "audit_logs"}


def assert_ok(result: Result) -> None:
    assert result.returncode == 0, result.stderr


def test_fresh_upgrade_builds_the_schema_and_logs_each_migration(server: Server, database: str) -> None:
    """`migrator upgrade` on an empty database applies every revision and logs them."""
    result = run(["upgrade"], server.url_for(database))
    assert_ok(result)
    assert APP_TABLES | {"alembic_version", "migrator_history", "migrator_state"} == tables(server, database)
    assert version(server, database) == [HEAD]
    started = [e["revision"] for e in result.events if e["event"] == "migration.started"]
    applied = [e for e in result.events if e["event"] == "migration.applied"]
    assert started == REVISIONS
    assert [a["revision"] for a in applied] == REVISIONS
    assert all(isinstance(a["duration_ms"], int) and a["message"] for a in applied)
    summary = result.event("run.finished")
    assert (summary["from_revision"], summary["to_revision"], summary["migrations_applied"]) == (
        "base (no revision)",
        HEAD,
        4,
    )
    order = [n for n in result.names() if n in ("db.ready", "lock.acquired", "migration.started", "lock.released")]
    assert order[:3] == ["db.ready", "lock.acquired", "migration.started"] and order[-1] == "lock.released"
    for event in result.events:
        assert {"timestamp", "level", "event"} <= event.keys()
        assert event["timestamp"].endswith("Z") or event["timestamp"].endswith("+00:00")
    assert advisory_locks(server, database) == 0


def test_second_run_does_nothing(server: Server, database: str) -> None:
    """A database already at head: exit 0, no migration run."""
    url = server.url_for(database)
    assert_ok(run(["upgrade"], url))
    again = run(["upgrade"], url)
    assert_ok(again)
    assert "migration.started" not in again.names()
    assert again.event("run.nothing_to_do")["revision"] == HEAD
    assert again.event("run.finished")["migrations_applied"] == 0


def test_up_down_up(server: Server, database: str) -> None:
    """downgrade defaults to one step, `base` removes everything, upgrade rebuilds it."""
    url = server.url_for(database)
    assert_ok(run(["upgrade"], url))
    assert_ok(run(["downgrade"], url))
    assert version(server, database) == [AVATAR_EXPAND]
    assert {"profile_picture", "avatar_url"} <= {c["name"] for c in _columns(server, database, "users")}
    assert_ok(run(["downgrade", INITIAL], url))
    assert version(server, database) == [INITIAL]
    assert "actually_used" not in {c["name"] for c in _columns(server, database, "packing_items")}
    assert "avatar_url" not in {c["name"] for c in _columns(server, database, "users")}
    assert_ok(run(["downgrade", "base"], url))
    assert tables(server, database) == {"alembic_version", "migrator_history", "migrator_state"}
    assert_ok(run(["upgrade", "+1"], url))
    assert version(server, database) == [INITIAL]
    assert_ok(run(["upgrade", HEAD], url))
    assert version(server, database) == [HEAD]


def _columns(server: Server, database: str, table: str) -> list[dict[str, object]]:
    engine = server.engine(database)
    with engine.connect() as conn:
        columns = sa.inspect(conn).get_columns(table)
    engine.dispose()
    return list(columns)


def test_read_only_commands_print_results_on_stdout(server: Server, database: str) -> None:
    """current, history, heads and check print to stdout; check exits 6 until head."""
    url = server.url_for(database)
    check = run(["check"], url)
    assert check.returncode == 6
    assert check.stdout.splitlines() == [
        f"pending: {INITIAL} Initial schema with users, trips, travelers, packing_items, audit_log",
        f"pending: {ACTUALLY_USED} Add actually_used column to packing_items",
        f"pending: {AVATAR_EXPAND} Rename users.profile_picture to avatar_url, expand: add avatar_url, sync both, "
        "backfill",
        f"pending: {HEAD} Rename users.profile_picture to avatar_url, contract: drop the sync trigger and "
        "profile_picture",
    ]
    assert_ok(run(["upgrade", INITIAL], url))
    current = run(["current"], url)
    assert_ok(current)
    assert current.stdout.strip() == INITIAL
    heads = run(["heads"], None)
    assert_ok(heads)
    assert heads.stdout.strip() == f"{HEAD} (head)"
    history = run(["history"], url)
    assert_ok(history)
    lines = history.stdout.splitlines()
    assert lines[0].startswith(f"{AVATAR_EXPAND} -> {HEAD} (head)")
    assert lines[2].startswith(f"{INITIAL} -> {ACTUALLY_USED}")
    assert lines[3].startswith(f"<base> -> {INITIAL} (current)")
    assert_ok(run(["upgrade"], url))
    at_head = run(["check"], url)
    assert_ok(at_head)
    assert at_head.stdout.strip() == f"at head: {HEAD}"


def test_db_migrate_script_is_an_alias(server: Server, database: str) -> None:
    """The team's `python scripts/db_migrate.py` commands keep working."""
    import subprocess
    import sys

    from tests.conftest import clean_env

    env = clean_env(DATABASE_URL=server.url_for(database))
    script = str(REPO / "scripts" / "db_migrate.py")
    up = subprocess.run([sys.executable, script, "upgrade"], cwd=REPO, env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    current = subprocess.run([sys.executable, script, "current"], cwd=REPO, env=env, capture_output=True, text=True)
    assert current.stdout.strip() == f"{HEAD} (head)"


def test_python_dash_m_runs_the_same_cli(server: Server, database: str) -> None:
    """`python -m migrator` is the same entry point, with the same exit codes."""
    import subprocess
    import sys

    from tests.conftest import clean_env

    env = clean_env(DATABASE_URL=server.url_for(database))
    check = subprocess.run(
        [sys.executable, "-m", "migrator", "check"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert check.returncode == 6
    up = subprocess.run(
        [sys.executable, "-m", "migrator", "upgrade"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert up.returncode == 0, up.stderr
