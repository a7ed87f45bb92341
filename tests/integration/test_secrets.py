"""Connection strings end to end: the backup command's database, offline SQL and masking (real CLI, real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from devtools.embedded_pg import SUPERUSER, EmbeddedPostgres
from tests.conftest import run
from tests.support.dbutil import version
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

PSQL = "/usr/bin/psql"
HEAD = "c3d4e5f6a7b8"  # the app's head revision


def backup_probe(seen: Path) -> str:
    """A backup command that records which database and server libpq's variables lead to."""
    query = "select current_database(), inet_server_addr() is null"
    return f"{PSQL} -XAtc '{query}' > {seen}; echo \"$PGSSLMODE\" >> {seen}"


def test_the_backup_command_reaches_the_database_named_in_the_query(
    server: Server, database: str, tmp_path: Path
) -> None:
    """?dbname= wins over the path for libpq, and so for pg_dump: the backup is of the database migrated."""
    url = f"{server.url_for('postgres')}?dbname={database}&sslmode=disable"
    seen = tmp_path / "seen"
    result = run(["upgrade", "--backup-command", backup_probe(seen)], url)
    assert result.returncode == 0, result.stderr
    assert seen.read_text().splitlines() == [f"{database}|f", "disable"]
    assert version(server, database) == [HEAD]


def test_the_backup_command_reaches_the_host_named_in_the_query(server: Server, database: str, tmp_path: Path) -> None:
    """postgresql://user:pw@/db?host=H&port=P: the host and port reach PGHOST and PGPORT."""
    parts = make_url(server.url_for(database))
    password = quote(parts.password or "", safe="")
    url = f"postgresql://{parts.username}:{password}@/{database}?host={parts.host}&port={parts.port}&sslmode=disable"
    seen = tmp_path / "seen"
    result = run(["upgrade", "--backup-command", backup_probe(seen)], url)
    assert result.returncode == 0, result.stderr
    assert seen.read_text().splitlines() == [f"{database}|f", "disable"]


def test_the_backup_command_reaches_the_database_over_the_same_unix_socket(
    own_server: EmbeddedPostgres, tmp_path: Path
) -> None:
    """The socket form postgresql://user@/db?host=/socket/dir: the backup connects where migrator does."""
    own_server.start()
    own_server.psql("create database over_socket")
    socket_dir = quote(str(own_server.base_dir), safe="")
    url = f"postgresql://{SUPERUSER}@/over_socket?host={socket_dir}&port={own_server.port}"
    seen = tmp_path / "seen"
    result = run(["upgrade", "--backup-command", backup_probe(seen)], url)
    assert result.returncode == 0, result.stderr
    assert seen.read_text().splitlines() == ["over_socket|t", ""]  # t: no server address, a unix socket


def test_sql_gives_alembic_no_password(server: Server, database: str, tmp_path: Path) -> None:
    """Offline rendering needs only the dialect: env.py is handed the URL without its password."""
    write_project(tmp_path, [Revision("r1", None, upgrade='op.execute("select 1")')])
    env_py = tmp_path / "migrations" / "env.py"
    seen = tmp_path / "url_seen"
    record = f"open({str(seen)!r}, 'w').write(context.config.get_main_option('sqlalchemy.url'))"
    env_py.write_text(f"from alembic import context\n{record}\n" + env_py.read_text())
    url = server.url_for(database)
    result = run(["sql", "base:head"], url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "select 1" in result.stdout
    given = make_url(url)
    handed = make_url(seen.read_text())
    assert (handed.password, handed.host, handed.database) == (None, given.host, database)


def test_every_secret_parameter_is_masked_in_the_output() -> None:
    """A query password holding encoded spaces and '&', and sslpassword, never show (the refusal names the URL)."""
    url = "postgresql://app@127.0.0.1:1/app?password=ab%20cdSECRET%26x&sslpassword=KEYSECRET1&sslmode=disable"
    result = run(["wait", "--wait-timeout", "0"], url)
    assert result.returncode == 3, result.stderr
    assert "postgresql://app:***@127.0.0.1:1/app?sslpassword=***&sslmode=disable" in result.stderr
    for secret in ("cdSECRET", "KEYSECRET1", "ab cd", "ab%20cd"):
        assert secret not in result.stdout + result.stderr


def test_a_failing_migration_with_a_huge_literal_is_reported_quickly(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The redactor over a 200 KB error line is linear: the failure is reported in seconds (it took 42 s)."""
    literal = "x" * 200_000
    write_project(tmp_path, [Revision("r1", None, upgrade=f"op.execute(\"select '{literal}'::int\")")])
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.elapsed < 30  # generous: a second or two in practice
    assert "invalid input syntax for type integer" in result.event("run.failed")["error"]
