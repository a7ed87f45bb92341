"""A project of several packages (tests/support/packages.py): labelled branches in their own
version locations, cross-package depends_on, an effective head. migrator's answers agree with
bare Alembic's, on the light stage and the full stage alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.conftest import Result, run
from tests.support.dbutil import query, version
from tests.support.packages import ROWS_AT_HEADS, commits_on_its_own, several_packages
from tests.support.servers import Server

pytestmark = pytest.mark.timeout(180)
FULL = {"MIGRATOR_FAST_PATH": "0"}


def bare_alembic(server: Server, database: str, root: Path, target: str) -> None:
    """Alembic's own `upgrade target`, no migrator involved."""
    cfg = Config(str(root / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    engine = server.engine(database)
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, target)
        connection.commit()
    engine.dispose()


def light(result: Result) -> bool:
    return any(event.get("fast_path") for event in result.events)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    several_packages(tmp_path)
    return tmp_path


def test_upgrade_heads_stores_alembics_rows_and_is_then_at_heads_on_both_stages(
    server: Server, database: str, project: Path
) -> None:
    """The effective head a2 is never stored; check heads is 0, and the second run is light."""
    url = server.url_for(database)
    first = run(["upgrade", "heads"], url, cwd=project)
    assert first.returncode == 0, first.stderr
    assert tuple(version(server, database)) == ROWS_AT_HEADS
    assert len(first.event("run.finished")["revisions"]) == 8
    for args in (["check", "heads"], ["upgrade", "heads"], ["check", "--wait-for-head", "5", "heads"]):
        fast = run([*args, "--log-level", "debug"], url, cwd=project)
        full = run(args, url, cwd=project, **FULL)
        assert (fast.returncode, full.returncode) == (0, 0), (args, fast.stderr, full.stderr)
        assert light(fast) and not light(full), args
        assert fast.stdout == full.stdout


def test_a_database_bare_alembic_migrated_is_at_the_same_target_for_migrator(
    server: Server, database: str, project: Path
) -> None:
    """Alembic upgraded to audit@head: migrator agrees audit@head is reached and heads is not,
    and lists as pending exactly what Alembic then applies."""
    url = server.url_for(database)
    bare_alembic(server, database, project, "audit@head")
    assert version(server, database) == ["a2"]
    assert run(["check", "audit@head"], url, cwd=project).returncode == 0
    behind = run(["check", "heads"], url, cwd=project)
    assert behind.returncode == 6, behind.stderr
    pending = {line.split()[1] for line in behind.stdout.splitlines() if line.startswith("pending:")}
    assert pending == {"c1", "c2", "b1", "b2", "s1", "s2"}
    bare_alembic(server, database, project, "heads")
    assert tuple(version(server, database)) == ROWS_AT_HEADS
    again = run(["upgrade", "heads"], url, cwd=project)
    assert again.returncode == 0 and again.event("run.finished")["migrations_applied"] == 0, again.stderr
    assert run(["check", "heads"], url, cwd=project, **FULL).returncode == 0


def test_head_is_refused_with_the_advice_for_labelled_branches(server: Server, database: str, project: Path) -> None:
    """Alembic refuses `head` here too; the hint names heads, MIGRATOR_TARGET and LABEL@head, not a merge."""
    url = server.url_for(database)
    for args in (["upgrade"], ["check"]):
        refused = run(args, url, cwd=project)
        assert refused.returncode == 5, refused.stderr
        failed = refused.event("run.failed")
        assert "each on its own labelled branch" in failed["error"]
        assert "migrator upgrade heads" in failed["hint"] and "MIGRATOR_TARGET=heads" in failed["hint"]
        assert "@head" in failed["hint"] and "merge" not in failed["hint"]
    assert version_table_absent(server, database)


def version_table_absent(server: Server, database: str) -> bool:
    return not query(server, database, "select 1 from pg_class where relname = 'alembic_version'")


def test_migrator_target_makes_heads_the_default_of_upgrade_and_check(
    server: Server, database: str, project: Path
) -> None:
    """The Job and the compose service stay `migrator upgrade`; MIGRATOR_TARGET=heads does the rest."""
    url = server.url_for(database)
    env = {"MIGRATOR_TARGET": "heads"}
    assert run(["upgrade"], url, cwd=project, **env).returncode == 0
    assert tuple(version(server, database)) == ROWS_AT_HEADS
    for args in (["upgrade"], ["check"]):
        result = run(args, url, cwd=project, **env)
        assert result.returncode == 0 and light(result), result.stderr
    bad = run(["upgrade"], url, cwd=project, MIGRATOR_TARGET="  ")
    assert bad.returncode == 2 and "MIGRATOR_TARGET" in bad.event("run.failed")["error"]


def test_label_at_head_applies_one_branch_with_what_it_depends_on(server: Server, database: str, project: Path) -> None:
    url = server.url_for(database)
    result = run(["upgrade", "billing@head"], url, cwd=project)
    assert result.returncode == 0, result.stderr
    assert sorted(result.event("run.finished")["revisions"]) == ["b1", "b2", "c1"]
    assert run(["check", "billing@head"], url, cwd=project).returncode == 0
    assert run(["check", "heads"], url, cwd=project).returncode == 6


@pytest.mark.parametrize("per_migration", [False, True], ids=["one-transaction", "per-migration"])
def test_a_revision_that_commits_on_its_own_is_noticed_and_what_it_committed_is_recorded(
    server: Server, database: str, project: Path, per_migration: bool
) -> None:
    """b3 runs a raw COMMIT, b4 then fails: the log names b3, the hint and the report state
    what is committed as read after the failure, and history has a row for each committed revision."""
    failing = commits_on_its_own(project)
    url = server.url_for(database)
    report = project / "report.json"
    args = ["upgrade", "billing@head", "--report", str(report)]
    result = run(args + (["--transaction-per-migration"] if per_migration else []), url, cwd=project)
    assert result.returncode == 1, result.stderr
    noticed = result.event("migration.committed_on_its_own")
    assert noticed["revision"] == "b3" and "autocommit_block" in noticed["hint"]
    assert version(server, database) == ["b3"]
    failed = result.event("run.failed")
    assert failing in failed["error"]
    assert "committed before the failure" in failed["hint"] and "now at b3" in failed["hint"]
    assert "still at" not in failed["hint"]
    recorded = {r[0] for r in query(server, database, "select revision from migrator_history where success")}
    assert {"c1", "b1", "b2", "b3"} <= recorded
    assert query(server, database, "select count(*) from t_b3") == [(0,)]
    summary = json.loads(report.read_text())
    assert (summary["to_revision"], summary["failed_revision"]) == ("b3", failing)
    # The rest of the run was atomic again: b4's failure left nothing of its own.
    with server.engine(database).connect() as conn:
        assert conn.execute(sa.text("select to_regclass('t_b4') is null")).scalar_one()
