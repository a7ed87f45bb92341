"""Short-lived passwords: MIGRATOR_PASSWORD_COMMAND gives each connection attempt its own."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import run
from tests.support.dbutil import execute, query
from tests.support.projects import recorded_chain, write_project
from tests.support.servers import Server

# Mints a new password for the role on every call, as a token service would, and prints it.
TOKEN_COMMAND = """\
import os, secrets, sys
import psycopg2
password = "tok-" + secrets.token_hex(12)
admin = psycopg2.connect(os.environ["TOKEN_ADMIN_URL"])
admin.autocommit = True
admin.cursor().execute(f"alter role {os.environ['TOKEN_ROLE']} password %s", (password,))
admin.close()
with open(os.environ["TOKEN_LOG"], "a") as log:
    log.write(password + "\\n")
print(password)
print("second line: not the password")
"""


@pytest.fixture
def rotating_role(server: Server, database: str) -> Iterator[str]:
    """A login role that may create in the test database, with no password anyone knows yet."""
    role = f"rotating_{uuid.uuid4().hex[:10]}"
    execute(server, database, f"create role {role} login password '{uuid.uuid4().hex}'")
    execute(
        server, database, f"grant create on schema public to {role}", f"grant create on database {database} to {role}"
    )
    yield role
    execute(server, database, f"drop owned by {role}", f"drop role {role}")


def _role_url(server: Server, database: str, role: str) -> str:
    """The role's URL without a password: only the command can give one."""
    url = make_url(server.url_for(database)).set(username=role, password=None)
    return url.render_as_string(hide_password=False)


def test_every_connection_attempt_gets_a_fresh_password_from_the_command(
    server: Server, database: str, rotating_role: str, tmp_path: Path
) -> None:
    """The password changes at every call; the run's own and its watcher's connections both get in, none is shown."""
    script, log = tmp_path / "token.py", tmp_path / "tokens.log"
    script.write_text(TOKEN_COMMAND)
    write_project(tmp_path, recorded_chain(2, sleep=1.5))  # long enough for the watcher's connection
    env = {
        "MIGRATOR_PASSWORD_COMMAND": f"{sys.executable} {script}",
        "TOKEN_ADMIN_URL": server.url_for(database),
        "TOKEN_ROLE": rotating_role,
        "TOKEN_LOG": str(log),
        "MIGRATOR_HEARTBEAT_INTERVAL": "0.5",
        "MIGRATOR_LOG_LEVEL": "debug",
    }
    up = run(["upgrade"], _role_url(server, database, rotating_role), cwd=tmp_path, **env)
    assert up.returncode == 0, up.stderr
    tokens = log.read_text().split()
    assert len(tokens) >= 2  # the run's connection, then the watcher's, each with its own password
    assert "migration.running" in up.names()  # seen by the watcher, which connected with the second
    assert "migration.watch_stopped" not in up.names(), up.stderr
    assert query(server, database, "select count(*) from body_runs") == [(2,)]
    current = run(["current"], _role_url(server, database, rotating_role), cwd=tmp_path, **env)
    assert current.returncode == 0, current.stderr
    assert "r001 (head)" in current.stdout
    shown = up.stdout + up.stderr + current.stdout + current.stderr
    for token in log.read_text().split():
        assert token not in shown
    assert "second line" not in shown


def test_a_failing_command_is_exit_3_and_one_that_cannot_run_exit_2(
    server: Server, database: str, rotating_role: str, tmp_path: Path
) -> None:
    """A token service that fails may come back (3, its stderr shown masked); a missing command will not (2)."""
    failing = tmp_path / "failing.py"
    failing.write_text(
        textwrap.dedent(
            """\
            import sys
            print("tok-leaked-on-stdout")
            print("token service unavailable: try later", file=sys.stderr)
            sys.exit(1)
            """
        )
    )
    write_project(tmp_path, recorded_chain(1))
    url = _role_url(server, database, rotating_role)
    failed = run(["upgrade"], url, cwd=tmp_path, MIGRATOR_PASSWORD_COMMAND=f"{sys.executable} {failing}")
    assert failed.returncode == 3, failed.stderr
    assert "exited with 1" in failed.stderr and "token service unavailable" in failed.stderr
    assert "tok-leaked-on-stdout" not in failed.stderr + failed.stdout
    missing = run(["current"], url, cwd=tmp_path, MIGRATOR_PASSWORD_COMMAND="/nonexistent/mint-token --now")
    assert missing.returncode == 2, missing.stderr
    assert "cannot be run" in missing.stderr and "MIGRATOR_PASSWORD_COMMAND" in missing.stderr
