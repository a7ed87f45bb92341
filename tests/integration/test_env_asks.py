"""What env.py asks for is honoured: its session settings, its transaction_per_migration, and a
migration's second connection that waits on the run's own transaction is not a hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run
from tests.support.dbutil import query
from tests.support.dbutil import tables as public_tables
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

pytestmark = pytest.mark.timeout(120)

# The shape of a real env.py: its own engine and connection, session settings and its own lock first.
OWN_CONNECTION = """\
from alembic import context
from sqlalchemy import create_engine, pool, text

config = context.config

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SET statement_timeout = '1s'"))
        connection.execute(text("SET lock_timeout = '4s'"))
        connection.execute(text("select pg_advisory_lock(4242)"))
        {commit}
        context.configure(connection=connection, transaction_per_migration={per_migration})
        with context.begin_transaction():
            context.run_migrations()
"""

# The cookbook's way of sharing a connection: env.py prepares the one it is handed, before configure().
HANDED_CONNECTION = """\
from alembic import context
from sqlalchemy import text

config = context.config
connection = config.attributes["connection"]
connection.execute(text("SET statement_timeout = '1s'"))
context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
"""


def project(root: Path, env_py: str, revisions: list[Revision]) -> None:
    write_project(root, revisions)
    (root / "migrations" / "env.py").write_text(env_py)


def own(per_migration: bool = False, commit: bool = True) -> str:
    return OWN_CONNECTION.replace("{commit}", "connection.commit()" if commit else "pass").replace(
        "{per_migration}", str(per_migration)
    )


CREATE_THEN_FAIL = [
    Revision("a1", None, upgrade='op.execute("create table t_a1 (id int)")'),
    Revision("a2", "a1", upgrade='op.execute("create table t_a2 (id int)")'),
    Revision("a3", "a2", upgrade='op.execute("select 1/0")'),
]
SLOW = [Revision("s1", None, upgrade='op.execute("select pg_sleep(3)")')]


def version(server: Server, database: str) -> str | None:
    """The one version row, None without a version table or row."""
    if not query(server, database, "select to_regclass('public.alembic_version') is not null")[0][0]:
        return None
    rows = query(server, database, "select version_num from alembic_version")
    return str(rows[0][0]) if rows else None


def nick_columns(server: Server, database: str) -> int:
    return int(
        query(server, database, "select count(*) from information_schema.columns where column_name = 'nick'")[0][0]
    )


@pytest.mark.parametrize("commit", [True, False], ids=["committed", "left-in-transaction"])
def test_the_statement_timeout_env_py_sets_on_its_own_connection_is_in_force(
    server: Server, database: str, tmp_path: Path, commit: bool
) -> None:
    """env.py's own connection says statement_timeout 1s: a 3 s statement is cancelled, exit 1."""
    project(tmp_path, own(commit=commit), SLOW)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "statement timeout" in result.event("run.failed")["error"]
    adopted = result.event("env.session_settings")
    assert adopted["settings"]["statement_timeout"] == "1s"
    assert adopted["settings"]["lock_timeout"] == "4s"
    assert version(server, database) is None


def test_env_py_s_own_connection_is_not_left_idle_in_transaction_during_the_run(
    server: Server, database: str, tmp_path: Path
) -> None:
    """env.py read a table on its own connection, then the migration alters it: no wait on our own session."""
    create = Revision("u0", None, upgrade='op.execute("create table users (id int)")')
    write_project(tmp_path, [create])
    assert run(["upgrade"], server.url_for(database), cwd=tmp_path).returncode == 0
    env_py = own(commit=False).replace(
        'connection.execute(text("select pg_advisory_lock(4242)"))', 'connection.execute(text("select * from users"))'
    )
    alter = Revision("u1", "u0", upgrade='op.execute("alter table users add column nick text")')
    project(tmp_path, env_py, [create, alter])
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path, MIGRATOR_DDL_RETRIES="0")
    assert result.returncode == 0, result.stderr
    assert version(server, database) == "u1"
    assert nick_columns(server, database) == 1


def test_env_py_s_transaction_per_migration_is_honoured(server: Server, database: str, tmp_path: Path) -> None:
    """env.py asks transaction_per_migration=True: a failure at a3 leaves a1 and a2 committed, as the hint says."""
    project(tmp_path, own(per_migration=True), CREATE_THEN_FAIL)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert version(server, database) == "a2"
    assert {"t_a1", "t_a2"} <= public_tables(server, database)
    assert "a2" in result.event("run.failed")["hint"]


def test_the_variable_switched_off_overrides_env_py_s_transaction_per_migration(
    server: Server, database: str, tmp_path: Path
) -> None:
    """MIGRATOR_TRANSACTION_PER_MIGRATION=0 beats env.py's True: one transaction, nothing committed."""
    project(tmp_path, own(per_migration=True), CREATE_THEN_FAIL)
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path, MIGRATOR_TRANSACTION_PER_MIGRATION="0")
    assert result.returncode == 1, result.stderr
    assert version(server, database) is None
    assert not {"t_a1", "t_a2"} & public_tables(server, database)


@pytest.mark.parametrize("fails", [False, True], ids=["succeeds", "fails"])
def test_a_transaction_env_py_began_before_configure_is_said_and_the_run_stays_consistent(
    server: Server, database: str, tmp_path: Path, fails: bool
) -> None:
    """SET on the handed connection before configure() began a transaction: per-migration cannot take
    effect, the run warns why and is one transaction (all or nothing), its settings in force."""
    revisions = CREATE_THEN_FAIL if fails else CREATE_THEN_FAIL[:2]
    project(tmp_path, HANDED_CONNECTION, revisions)
    result = run(["upgrade", "--transaction-per-migration"], server.url_for(database), cwd=tmp_path)
    warned = result.event("env.transaction_begun")
    assert "before configure()" in warned["reason"]
    if fails:
        assert result.returncode == 1, result.stderr
        assert version(server, database) is None
        assert not {"t_a1", "t_a2"} & public_tables(server, database)
    else:
        assert result.returncode == 0, result.stderr
        assert version(server, database) == "a2"


SECOND_CONNECTION = """\
import os
import psycopg2
op.execute("alter table users add column nick text")
other = psycopg2.connect(os.environ["DATABASE_URL"])
with other.cursor() as cursor:
    cursor.execute("select count(*) from users")
other.close()"""


def test_a_migration_whose_second_connection_waits_on_the_run_itself_fails_naming_the_statement(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The second connection would wait for ever on the migration's own lock: cancelled, exit 1, nothing applied."""
    create = Revision("u0", None, upgrade='op.execute("create table users (id int)")')
    write_project(tmp_path, [create])
    assert run(["upgrade"], server.url_for(database), cwd=tmp_path).returncode == 0
    write_project(tmp_path, [create, Revision("w1", "u0", upgrade=SECOND_CONNECTION)])
    result = run(
        ["upgrade"],
        server.url_for(database),
        cwd=tmp_path,
        MIGRATOR_DDL_LOCK_TIMEOUT="1",
        MIGRATOR_DDL_RETRIES="0",
    )
    assert result.returncode == 1, result.stderr
    failed = result.event("run.failed")
    assert "select count(*) from users" in failed["error"]
    assert "own" in failed["error"]
    assert version(server, database) == "u0"
    assert nick_columns(server, database) == 0
