"""TLS: both the light path (psycopg2 imported without Python's ssl module) and the full path connect
to a server that refuses anything but TLS over TCP."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.embedded_pg import EmbeddedPostgres, _bin
from tests.conftest import run
from tests.support.projects import recorded_chain, write_project

DATABASE = "tls"
SELF_SIGNED = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout server.key -out server.crt"


def built_with_openssl(bindir: Path) -> bool:
    pg_config = bindir / "pg_config"
    if not pg_config.exists():
        return False
    configure = subprocess.run([pg_config, "--configure"], capture_output=True, text=True, check=False).stdout
    return "--with-openssl" in configure or "--with-ssl=openssl" in configure


def tls_bindir() -> Path | None:
    """pgserver's binaries if built with OpenSSL (its wheels are not), else the PostgreSQL on PATH."""
    candidates = [Path(_bin("postgres")).parent]
    installed = shutil.which("postgres")
    if installed:
        candidates.append(Path(os.path.realpath(installed)).parent)
    return next((bindir for bindir in candidates if built_with_openssl(bindir)), None)


@pytest.fixture(scope="module")
def tls_server() -> Iterator[EmbeddedPostgres]:
    """A server of this module's own: TLS on, a self-signed certificate, TCP through `hostssl` only."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl CLI on PATH to make a certificate")
    bindir = tls_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL built with OpenSSL (pgserver's is not; install one on PATH)")
    pg = EmbeddedPostgres(bindir=bindir)
    try:
        pg.init()  # initdb: a template made by other binaries may be another major version
        subprocess.run(
            SELF_SIGNED.split(),
            cwd=pg.data_dir,
            user=pg.user,  # the server's own files, as the server requires of its key
            capture_output=True,
            check=True,
        )
        (pg.data_dir / "server.key").chmod(0o600)
        with open(pg.data_dir / "postgresql.conf", "a") as conf:
            conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        hba = pg.data_dir / "pg_hba.conf"
        hba.write_text(re.sub(r"^host(?=\s)", "hostssl", hba.read_text(), flags=re.MULTILINE))
        pg.start()
        pg.psql(f"create database {DATABASE}")  # over the unix socket, which stays trusted
        yield pg
    finally:
        pg.destroy()


def test_upgrade_and_check_work_over_tls(tls_server: EmbeddedPostgres, tmp_path: Path) -> None:
    """sslmode=require: upgrade migrates, then upgrade and check finish on the light path; the full path works too."""
    write_project(tmp_path, recorded_chain(3))
    url = tls_server.url(DATABASE) + "?sslmode=require"

    first = run(["upgrade"], url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    finished = first.event("run.finished")
    assert (finished["migrations_applied"], finished["to_revision"], finished.get("fast_path")) == (3, "r002", None)

    again = run(["upgrade"], url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    finished = again.event("run.finished")
    assert (finished["migrations_applied"], finished["to_revision"], finished["fast_path"]) == (0, "r002", True)

    check = run(["check"], url, cwd=tmp_path)
    assert (check.returncode, check.stdout) == (0, "at head: r002\n"), check.stderr
    assert check.event("check.at_head")["fast_path"] is True

    full = run(["check"], url, cwd=tmp_path, MIGRATOR_FAST_PATH="0")
    assert (full.returncode, full.stdout) == (0, "at head: r002\n"), full.stderr
    assert not any(event.get("fast_path") for event in full.events)

    rows = tls_server.psql("select revision from body_runs order by revision", database=DATABASE)
    assert rows.split() == ["r000", "r001", "r002"]


def test_plain_tcp_is_refused(tls_server: EmbeddedPostgres) -> None:
    """Without TLS the server turns the runner away, so the test above cannot pass in the clear."""
    result = run(["check", "--wait-timeout", "0"], tls_server.url(DATABASE) + "?sslmode=disable")
    assert (result.returncode, result.stdout, result.names()) == (3, "", ["run.failed"]), result.stderr
    refusal = (
        f'FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "postgres", database "{DATABASE}", no encryption'
    )
    assert result.event("run.failed")["error"].endswith(refusal), result.stderr
