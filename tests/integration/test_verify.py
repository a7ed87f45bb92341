"""`migrator verify`: the deploy's checks without changing anything, PASS/FAIL per check."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import run
from tests.support.dbutil import copy_app, execute, query, version
from tests.support.packages import several_packages
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

LIVE = "live database matches its migrations"


def lines(stdout: str) -> dict[str, str]:
    """check name -> PASS/FAIL."""
    return {line[6:].split(":")[0]: line[:4] for line in stdout.splitlines()}


def test_everything_passes_on_a_healthy_project(server: Server, database: str) -> None:
    """At head, files untouched, schema and models matching: exit 0, every check PASS, nothing changed."""
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
        LIVE: "PASS",
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


def verify_after(server: Server, database: str, *by_hand: str) -> tuple[int, str]:
    """The app at head, the live database then changed by hand: verify's exit code and live check line."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    execute(server, database, *by_hand)
    result = run(["verify"], url)
    checks = lines(result.stdout)
    assert {name: checks[name] for name in ("no applied migration changed", "models match the migrations")} == {
        "no applied migration changed": "PASS",
        "models match the migrations": "PASS",
    }, result.stdout
    return result.returncode, line(result.stdout, LIVE)


def line(stdout: str, check: str) -> str:
    (found,) = [text for text in stdout.splitlines() if text[6:].startswith(f"{check}:")]
    return found


def test_a_column_added_by_hand_exits_7_naming_it(server: Server, database: str) -> None:
    """A column no migration creates, added to the live database: FAIL on the live check, exit 7."""
    code, live = verify_after(server, database, "alter table users add column drift_col integer")
    assert (code, live) == (
        7,
        "FAIL  live database matches its migrations: 1 difference(s) against c3d4e5f6a7b8 built in a scratch "
        "database: users.drift_col: in the database, in no migration",
    )


def test_an_index_added_by_hand_exits_7_naming_it(server: Server, database: str) -> None:
    """An index no migration creates: FAIL on the live check, exit 7, the index and its table named."""
    code, live = verify_after(server, database, "create index ix_users_last_login on users (last_login)")
    assert code == 7
    assert live.endswith(": index ix_users_last_login on users: in the database, in no migration"), live


def test_a_column_type_changed_by_hand_exits_7_naming_both_types(server: Server, database: str) -> None:
    """A column widened by hand: FAIL on the live check, exit 7, both types named as users write them."""
    code, live = verify_after(server, database, "alter table users alter column username type varchar(100)")
    assert code == 7
    assert live.endswith(": users.username: type varchar(100) in the database, varchar(80) in the migrations"), live


def test_a_database_behind_head_is_compared_with_its_own_revision(server: Server, database: str) -> None:
    """At the first of two revisions: the live check builds that revision, not head, and passes."""
    url = server.url_for(database)
    assert run(["upgrade", "36a04cd7adbc"], url).returncode == 0
    result = run(["verify"], url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(lines(result.stdout).values()) == {"PASS"}
    assert line(result.stdout, LIVE) == f"PASS  {LIVE}: no difference against 36a04cd7adbc built in a scratch database"
    databases = query(server, "postgres", "select count(*) from pg_database where datname like 'migrator_verify_%'")
    assert databases == [(0,)]


@pytest.mark.parametrize("downgraded", [False, True], ids=["no-version-table", "at-base"])
def test_a_database_without_applied_migrations_is_not_compared(server: Server, database: str, downgraded: bool) -> None:
    """No version table, or one at base: nothing to build, the live check says so and passes."""
    url = server.url_for(database)
    if downgraded:
        assert run(["upgrade"], url).returncode == 0
        assert run(["downgrade", "base"], url).returncode == 0
    result = run(["verify"], url)
    assert result.returncode == 0, result.stdout + result.stderr
    reason = "the database is at base" if downgraded else "no alembic_version table"
    assert line(result.stdout, LIVE) == f"PASS  {LIVE}: not compared: {reason}, no migration applied"


def test_each_version_row_is_built(server: Server, database: str, tmp_path: Path) -> None:
    """A database on several branches (version rows a2 and b2): the scratch database gets each of them."""
    several_packages(tmp_path)
    url = server.url_for(database)
    for target in ("billing@head", "audit@head"):
        assert run(["upgrade", target], url, cwd=tmp_path).returncode == 0
    assert version(server, database) == ["a2", "b2"]
    result = run(["verify"], url, cwd=tmp_path)
    assert line(result.stdout, LIVE) == f"PASS  {LIVE}: no difference against a2, b2 built in a scratch database"


def test_without_createdb_the_live_check_says_why_it_is_not_compared(server: Server, database: str) -> None:
    """No scratch database: the live check cannot run, and says so (exit 7); the models are still
    compared with the database itself, at head."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    role = f"verify_{uuid.uuid4().hex[:8]}"
    execute(
        server,
        database,
        f"create role {role} login password 'pw' nocreatedb",
        f"grant select on all tables in schema public to {role}",
    )
    try:
        as_role = make_url(url).set(username=role, password="pw").render_as_string(hide_password=False)
        result = run(["verify"], as_role)
    finally:
        execute(server, database, f"drop owned by {role}", f"drop role {role}")
    assert result.returncode == 7, result.stdout + result.stderr
    assert line(result.stdout, LIVE) == (
        f"FAIL  {LIVE}: not compared: cannot build a scratch database: "
        "permission denied to create database; grant CREATEDB"
    )
    assert line(result.stdout, "models match the migrations").startswith("PASS")


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
    assert line(result.stdout, LIVE) == f"FAIL  {LIVE}: not compared: unknown revision(s) f00dfeed0001"
