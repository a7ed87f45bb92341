"""Configuration mistakes a user makes: each is exit 2 (or the documented code) naming the cause and the
next step, never a crash (70); a hostile identifier in alembic.ini is used literally, never run as SQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from devtools.recipe import ENV_PY
from tests.conftest import run
from tests.support.dbutil import execute
from tests.support.dbutil import tables as public_tables
from tests.support.projects import INI, Revision, write_project
from tests.support.servers import Server

ONE = [Revision("aaa1", None, upgrade='op.execute("create table t_aaa1 (id int)")')]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MIGRATOR_DDL_LOCK_TIMEOUT", "1e9"),  # more milliseconds than PostgreSQL's lock_timeout takes
        ("MIGRATOR_STATEMENT_TIMEOUT", "3000000"),
        ("MIGRATOR_DDL_LOCK_TIMEOUT", "0.0001"),  # rounds to 0 ms, which would switch the timeout off
        ("MIGRATOR_HEARTBEAT_INTERVAL", "1e12"),  # more than a Python thread can wait
        ("MIGRATOR_DDL_LOCK_TIMEOUT", "nan"),
        ("MIGRATOR_LOCK_TIMEOUT", "-1"),
        ("MIGRATOR_WAIT_TIMEOUT", "inf"),
        ("MIGRATOR_DDL_RETRIES", "five"),
    ],
)
def test_a_number_setting_out_of_range_is_a_usage_error_before_anything_changes(
    server: Server, database: str, tmp_path: Path, variable: str, value: str
) -> None:
    """A number no part of the run can take: exit 2 naming the variable and the range, the database untouched."""
    write_project(tmp_path, ONE)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path, **{variable: value})
    assert result.returncode == 2, result.stderr
    failed = result.event("run.failed")
    assert variable in failed["error"] and value in failed["error"]
    assert variable in failed["hint"]
    assert public_tables(server, database) == set()


@pytest.mark.parametrize("content", ["", "[loggers]\nkeys = root\n"], ids=["empty", "no-alembic-section"])
@pytest.mark.parametrize("command", ["upgrade", "heads", "current"])
def test_an_alembic_ini_without_an_alembic_section_is_a_usage_error(
    server: Server, database: str, tmp_path: Path, content: str, command: str
) -> None:
    """An empty alembic.ini or one without [alembic]: exit 2 naming the file and the missing section."""
    write_project(tmp_path, ONE)
    (tmp_path / "alembic.ini").write_text(content)
    result = run([command], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    failed = result.event("run.failed")
    assert "alembic.ini" in failed["error"] and "[alembic]" in failed["error"]
    assert "script_location" in failed["hint"]


@pytest.mark.parametrize(
    ("raising", "named"),
    [
        ("raise RuntimeError('settings module missing')", "RuntimeError: settings module missing"),
        ("import sys; sys.exit(1)", "SystemExit: 1"),  # a script's habit, at a revision's import
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ],
    ids=["exception", "sys-exit", "keyboard-interrupt"],
)
@pytest.mark.parametrize("command", ["upgrade", "heads", "history", "check"])
def test_a_revision_file_that_raises_at_import_is_a_usage_error_naming_the_file(
    server: Server, database: str, tmp_path: Path, command: str, raising: str, named: str
) -> None:
    """Module-level code that raises (not only a SyntaxError, even sys.exit()): exit 2 naming the file."""
    write_project(tmp_path, ONE)
    broken = tmp_path / "migrations" / "versions" / "aaa1.py"
    broken.write_text(broken.read_text() + f"\n{raising}\n")
    result = run([command], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    failed = result.event("run.failed")
    assert str(broken) in failed["error"]
    assert named in failed["error"]
    assert str(broken) in failed["hint"]
    assert public_tables(server, database) == set()


@pytest.mark.parametrize("command", ["upgrade", "heads", "history", "check"])
def test_a_down_revision_that_does_not_exist_is_a_revision_state_error_naming_it_and_the_file(
    server: Server, database: str, tmp_path: Path, command: str
) -> None:
    """`down_revision = 'nope0'` with no such revision: exit 5 naming the missing revision and the file."""
    write_project(tmp_path, [*ONE, Revision("bbb2", "nope0")])
    result = run([command], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 5, result.stderr
    failed = result.event("run.failed")
    assert "nope0" in failed["error"] and str(tmp_path / "migrations" / "versions" / "bbb2.py") in failed["error"]
    assert "down_revision" in failed["hint"]
    assert public_tables(server, database) == set()


# env.py passes alembic.ini's schema to Alembic, as migrator requires.
SCHEMA_ENV_PY = ENV_PY.replace(
    "context.configure(connection=connection, target_metadata=None)",
    "context.configure(connection=connection, target_metadata=None, "
    'version_table_schema=config.get_main_option("version_table_schema"))',
)


@pytest.mark.parametrize("fast_path", ["1", "0"], ids=["light", "full"])
@pytest.mark.parametrize("schema", ['x"; drop table victim; --', "50% off :cut"], ids=["quote", "percent-colon"])
def test_a_hostile_version_table_schema_is_used_literally(
    server: Server, database: str, tmp_path: Path, fast_path: str, schema: str
) -> None:
    """version_table_schema = x"; drop table victim; -- names a schema, nothing more: the version table and
    migrator's own tables live in the schema of that very name, `victim` survives, a second run is a no-op,
    and the commands that read the tables work."""
    write_project(tmp_path, ONE)
    (tmp_path / "migrations" / "env.py").write_text(SCHEMA_ENV_PY)
    (tmp_path / "alembic.ini").write_text(INI + f"version_table_schema = {schema.replace('%', '%%')}\n")
    quoted = '"' + schema.replace('"', '""') + '"'
    execute(server, database, "create table victim (id int)", f"create schema {quoted.replace('%', '%%')}")
    url = server.url_for(database)
    first = run(["upgrade"], url, cwd=tmp_path, MIGRATOR_FAST_PATH=fast_path)
    assert first.returncode == 0, first.stderr
    again = run(["upgrade"], url, cwd=tmp_path, MIGRATOR_FAST_PATH=fast_path)
    assert again.returncode == 0, again.stderr
    assert again.event("run.finished").get("fast_path", False) is (fast_path == "1")
    assert "victim" in public_tables(server, database)
    assert tables_in(server, database, schema) == ["alembic_version", "migrator_history", "migrator_state"]
    assert version_rows(server, database, schema) == ["aaa1"]
    for command in (["status"], ["history", "--applied"], ["check"], ["downgrade", "base"]):
        result = run(command, url, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
    assert version_rows(server, database, schema) == []


def version_rows(server: Server, database: str, schema: str) -> list[str]:
    """The version table's rows, the schema quoted by SQLAlchemy (not by the code under test)."""
    engine = server.engine(database)
    with engine.connect() as conn:
        table = sa.table("alembic_version", sa.column("version_num"), schema=schema)
        rows = [row[0] for row in conn.execute(sa.select(table.c.version_num))]
    engine.dispose()
    return rows


def tables_in(server: Server, database: str, schema: str) -> list[str]:
    engine = server.engine(database)
    with engine.connect() as conn:
        sql = sa.text("select tablename from pg_tables where schemaname = :schema order by 1")
        names = [row[0] for row in conn.execute(sql, {"schema": schema})]
    engine.dispose()
    return names


def test_a_version_table_schema_postgresql_cannot_name_is_a_usage_error(
    server: Server, database: str, tmp_path: Path
) -> None:
    """A schema name with a NUL byte cannot be an identifier: exit 2 naming the option, nothing changed."""
    write_project(tmp_path, ONE)
    (tmp_path / "alembic.ini").write_text(INI + "version_table_schema = a\x00b\n")
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "version_table_schema" in result.event("run.failed")["error"]
    assert public_tables(server, database) == set()
