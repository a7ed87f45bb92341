"""Expand before the rollout, contract after it: `upgrade --phase`, `check --phase expand`, `status`,
and the web app's init_db() between the two phases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from src.database import SchemaNotAtHeadError, init_db
from tests.conftest import run
from tests.support.dbutil import query, version
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

CHAIN = [
    Revision("p1", None, "create items", upgrade='op.execute("create table items (id int, old_name text)")'),
    Revision("p2", "p1", "add new_name", upgrade='op.execute("alter table items add column new_name text")'),
    Revision("p3", "p2", "drop old_name", upgrade='op.execute("alter table items drop column old_name")'),
    Revision("p4", "p3", "add notes", upgrade='op.execute("create table notes (id int)")'),
]


def contract(root: Path, revision: str) -> None:
    path = root / "migrations" / "versions" / f"{revision}.py"
    path.write_text(path.read_text().replace("depends_on = None\n", 'depends_on = None\nphase = "contract"\n'))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path, CHAIN)
    contract(tmp_path, "p3")
    return tmp_path


def columns(server: Server, database: str) -> list[str]:
    sql = "select column_name from information_schema.columns where table_name = 'items' order by 1"
    return [r[0] for r in query(server, database, sql)]


def test_expand_runs_up_to_the_first_contract_step_and_contract_the_rest(
    server: Server, database: str, project: Path
) -> None:
    url = server.url_for(database)
    expand = run(["upgrade", "--phase", "expand"], url, cwd=project)
    assert expand.returncode == 0, expand.stderr
    assert version(server, database) == ["p2"]
    assert columns(server, database) == ["id", "new_name", "old_name"]  # the old pods still find old_name
    assert expand.event("phase.held_back")["revisions"] == ["p3", "p4"]
    assert run(["upgrade", "--phase", "expand"], url, cwd=project).event("run.nothing_to_do")["reason"] == (
        "only contract steps are pending"
    )
    between = run(["check", "--phase", "expand"], url, cwd=project)
    assert between.returncode == 0, between.stderr
    assert "pending contract step: p3 drop old_name" in between.stdout
    assert run(["check"], url, cwd=project).returncode == 6  # not at head for a plain check
    view = json.loads(run(["status", "--format", "json"], url, cwd=project).stdout)
    assert view["contract_pending"] == ["p3"] and view["pending"] == ["p3", "p4"]
    done = run(["upgrade"], url, cwd=project, MIGRATOR_PHASE="contract")
    assert done.returncode == 0, done.stderr
    assert version(server, database) == ["p4"] and columns(server, database) == ["id", "new_name"]
    assert run(["check", "--phase", "expand"], url, cwd=project).returncode == 0


def test_init_db_accepts_a_database_whose_only_pending_steps_are_contract_steps(
    server: Server, database: str, project: Path
) -> None:
    """The new web pods start between the two phases; before the expand they refuse."""
    url = server.url_for(database)
    ini = project / "alembic.ini"
    with pytest.raises(SchemaNotAtHeadError):
        init_db(url, alembic_ini=ini)
    assert run(["upgrade", "--phase", "expand"], url, cwd=project).returncode == 0
    assert init_db(url, alembic_ini=ini) == "p2"
    assert run(["downgrade", "p1"], url, cwd=project).returncode == 0
    with pytest.raises(SchemaNotAtHeadError):
        init_db(url, alembic_ini=ini)


def test_a_phase_other_than_expand_or_contract_is_refused_naming_the_file(
    server: Server, database: str, project: Path
) -> None:
    path = project / "migrations" / "versions" / "p2.py"
    path.write_text(path.read_text().replace("depends_on = None\n", 'depends_on = None\nphase = "post"\n'))
    result = run(["upgrade", "--phase", "expand"], server.url_for(database), cwd=project)
    assert result.returncode == 2, result.stderr
    assert "p2.py" in result.event("run.failed")["error"] and "'post'" in result.event("run.failed")["error"]


def test_lint_flags_a_breaking_change_in_an_expand_step_and_not_in_a_contract_step(tmp_path: Path) -> None:
    write_project(tmp_path, CHAIN)
    rules = "breaking-change-in-expand-step"
    before = run(["lint", "p3", "--format", "json"], None, cwd=tmp_path)
    assert before.returncode == 8, before.stderr
    (finding,) = [f for f in json.loads(before.stdout)["findings"] if f["rule"] == rules]
    assert "drops a column" in finding["problem"] and 'phase = "contract"' in finding["help"]
    contract(tmp_path, "p3")
    assert "ban-drop-column" in {f["rule"] for f in json.loads(before.stdout)["findings"]}
    after = run(["lint", "p3", "--format", "json"], None, cwd=tmp_path)
    # After the rollout no code uses the column: squawk's "may break existing clients" is moot there too.
    assert {rules, "ban-drop-column"}.isdisjoint({f["rule"] for f in json.loads(after.stdout)["findings"]})
    (linted,) = [e for e in after.events if e["event"] == "lint.revision"]
    assert "ban-drop-column" in linted["ignored_rules"]
