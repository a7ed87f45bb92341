"""Behind a transaction-pooling PgBouncer a session lock protects nothing: refuse with exit 2."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from devtools.embedded_pg import free_port
from tests.conftest import run, wait_until
from tests.support.servers import Server

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
pytestmark = pytest.mark.skipif(
    not Path(PGBOUNCER).exists(), reason="pgbouncer is not installed (.ci/run installs it: apt-get install pgbouncer)"
)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def pooler(server: Server, database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A PgBouncer in front of the test database in the requested pool mode; yields its URL."""
    role, password = f"b_{database}", "bouncer-pw"
    engine = server.engine()
    with engine.connect() as conn:
        conn.exec_driver_sql(f"create role \"{role}\" login password '{password}'")
        conn.exec_driver_sql(f'alter database "{database}" owner to "{role}"')
    engine.dispose()
    target = make_url(server.url_for(database))
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    (workdir / "users.txt").write_text(f'"{role}" "{password}"\n')
    (workdir / "pgbouncer.ini").write_text(
        f"[databases]\n{database} = host={target.host} port={target.port} dbname={database} "
        f"user={role} password={password}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir}/users.txt\npool_mode = {request.param}\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    shutil.chown(workdir, "nobody")
    for path in workdir.iterdir():
        shutil.chown(path, "nobody")
    proc = subprocess.Popen(
        [PGBOUNCER, str(workdir / "pgbouncer.ini")], user="nobody", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until(lambda: _listening(port) or proc.poll() is not None, what="pgbouncer to listen")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield f"postgresql://{role}:{password}@127.0.0.1:{port}/{database}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("pooler", ["transaction"], indirect=True)
def test_transaction_pooling_is_refused(pooler: str) -> None:
    """The lock would not protect anything: exit 2 naming PgBouncer, nothing migrated."""
    result = run(["upgrade"], pooler)
    assert result.returncode == 2, result.stderr
    failed = result.event("run.failed")
    assert "PgBouncer" in failed["error"]
    assert "session-pooling" in failed["hint"]
    assert "migration.started" not in result.names()


@pytest.mark.parametrize("pooler", ["session"], indirect=True)
def test_session_pooling_works(pooler: str) -> None:
    """A session-pooling port keeps the session lock meaningful: the upgrade runs."""
    result = run(["upgrade"], pooler)
    assert result.returncode == 0, result.stderr
    assert result.event("run.finished")["migrations_applied"] == 4  # the app's revisions
