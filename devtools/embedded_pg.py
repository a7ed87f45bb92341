"""A throwaway PostgreSQL on a loopback TCP port, from the binaries the `pgserver` package bundles.

Used by the tests, `make demo` and the benchmarks. Unlike pgserver's own
server (unix socket only) this one listens on 127.0.0.1, requires a password
over TCP, and can be stopped, started and killed at will to inject faults.
PostgreSQL refuses to run as root: as root, the server runs as pgserver's
unprivileged system user.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

SUPERUSER = "postgres"
# Full of the characters that leak or break URL parsing elsewhere.
SUPERUSER_PASSWORD = "s3cr@t:/%#?\\$pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pgserver() -> Any:
    """pgserver's binaries and helpers; importing it warns about XDG_RUNTIME_DIR, which we never use."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver._commands
        import pgserver.utils
    return pgserver


def _bin(name: str) -> str:
    return str(_pgserver()._commands.POSTGRES_BIN_PATH / name)


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    pgserver = _pgserver()
    bin_path = pgserver._commands.POSTGRES_BIN_PATH
    pgserver.utils.ensure_user_exists("pgserver")
    pgserver.utils.ensure_prefix_permissions(bin_path)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    pgserver.utils.ensure_folder_permissions(bin_path, execute | read)
    pgserver.utils.ensure_folder_permissions(bin_path.parent / "lib", read)
    return "pgserver"


class EmbeddedPostgres:
    def __init__(self, base_dir: Path | None = None, port: int | None = None, bindir: Path | None = None) -> None:
        """``bindir``: another PostgreSQL build to run instead of pgserver's (which has no TLS)."""
        self.bindir = bindir
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="migrator-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"
        self.port = port or free_port()
        self.user = _system_user()

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str = SUPERUSER_PASSWORD) -> str:
        return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"

    def init(self, template: Path | None = None) -> None:
        """initdb, or copy an initialised data directory (much faster)."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._own(self.base_dir)
        if template is not None:
            shutil.copytree(template, self.data_dir, symlinks=True)
            self._own_tree(self.data_dir)
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
            return
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        self._own(pwfile)
        self._run(
            [
                self._bin("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ],
        )
        pwfile.unlink()
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")

    def start(self, wait: bool = True) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.base_dir}"
        args = [self._bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "start"]
        self._run(args + (["-w", "-t", "60"] if wait else ["-W"]))

    def stop(self) -> None:
        self._run([self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], check=False)

    def kill(self) -> None:
        pid = self.postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def is_ready(self) -> bool:
        result = subprocess.run(
            [self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True, check=False
        )
        return result.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                self._bin("psql"),
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.base_dir),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
            user=self.user,
        )
        return result.stdout

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL on port {self.port} not ready after {timeout}s")
            time.sleep(0.05)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def _run(self, args: list[str], check: bool = True) -> None:
        subprocess.run(
            args, check=check, user=self.user, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.base_dir
        )

    def _own(self, path: Path) -> None:
        if self.user is not None:
            shutil.chown(path, self.user, self.user)

    def _own_tree(self, root: Path) -> None:
        if self.user is None:
            return
        for dirpath, _dirs, files in os.walk(root):
            shutil.chown(dirpath, self.user, self.user)
            for name in files:
                shutil.chown(os.path.join(dirpath, name), self.user, self.user)

    def _bin(self, name: str) -> str:
        return str(self.bindir / name) if self.bindir is not None else _bin(name)
