"""`migrator verify`: the deploy's checks without changing anything, PASS/FAIL per check."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run
from tests.support.dbutil import copy_app, query
from tests.support.projects import Revision, write_project
from tests.support.servers import Server


def lines(stdout: str) -> dict[str, str]:
    """check name -> PASS/FAIL."""
    return {line[6:].split(":")[0]: line[:4] for line in stdout.splitlines()}


def test_everything_passes_on_a_healthy_project(server: Server, database: str) -> None:
    """At head, files untouched, models matching: exit 0, every check PASS, nothing changed."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    before = query(server, database, "select count(*) from migrator_history")
    result = run(["verify"], url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result.stdout) == {
        "database reachable": "PASS",
        "one head": "PASS",
        "database not ahead of the code": "PASS",
        "no applied migration changed": "PASS",
        "models match the migrations": "PASS",
    }
    assert query(server, database, "select count(*) from migrator_history") == before
    databases = query(server, "postgres", "select count(*) from pg_database where datname like 'migrator_verify_%'")
    assert databases == [(0,)]  # the scratch database is gone


def test_model_drift_exits_7_naming_the_difference(server: Server, database: str, tmp_path: Path) -> None:
    """A model column no migration creates: FAIL on the model check, exit 7."""
    app = copy_app(tmp_path)
    models = app / "src" / "database" / "models.py"
    text = models.read_text()
    anchor = "    actually_used"
    assert anchor in text
    models.write_text(
        text.replace(anchor, "    weight_grams: Mapped[int | None] = mapped_column(Integer)\n" + anchor, 1)
    )
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=app).returncode == 0
    result = run(["verify"], url, cwd=app)
    assert result.returncode == 7, result.stdout + result.stderr
    assert lines(result.stdout)["models match the migrations"] == "FAIL"
    assert "weight_grams" in result.stdout


def test_changed_file_exits_5(server: Server, database: str, tmp_path: Path) -> None:
    """An applied revision edited afterwards: FAIL on the checksum check, exit 5."""
    app = copy_app(tmp_path)
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=app).returncode == 0
    revision = app / "alembic" / "versions" / "a1b2c3d4e5f6_add_actually_used.py"
    revision.write_text(revision.read_text().replace("nullable=True", "nullable=True, comment='x'"))
    result = run(["verify"], url, cwd=app)
    assert result.returncode == 5
    assert lines(result.stdout)["no applied migration changed"] == "FAIL"
    assert "a1b2c3d4e5f6" in result.stdout


def test_several_heads_and_database_ahead_exit_5(server: Server, database: str, tmp_path: Path) -> None:
    """Two heads; a database stamped with a revision the code lacks: both FAIL, exit 5."""
    write_project(tmp_path, [Revision("aaa1", None), Revision("bbb2", None)])
    url = server.url_for(database)
    query(
        server,
        database,
        "create table alembic_version (version_num varchar(32) primary key); "
        "insert into alembic_version values ('f00dfeed0001'); select 1",
    )
    result = run(["verify"], url, cwd=tmp_path)
    assert result.returncode == 5
    checks = lines(result.stdout)
    assert (checks["one head"], checks["database not ahead of the code"]) == ("FAIL", "FAIL")
    assert "f00dfeed0001" in result.stdout
