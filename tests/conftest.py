"""Shared fixtures: a real PostgreSQL, a fresh database per test, the real CLI in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
import structlog

from devtools.embedded_pg import EmbeddedPostgres
from migrator.core.redact import password_of
from tests.support.servers import Server, provide

REPO = Path(__file__).resolve().parent.parent
MIGRATOR = str(Path(sys.executable).with_name("migrator"))


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with provide() as found:
        yield found


@contextlib.contextmanager
def fresh_database(server: Server) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    server.create_database(name)
    try:
        yield name
    finally:
        server.drop_database(name)


@pytest.fixture
def database(server: Server) -> Iterator[str]:
    """The name of a database of this test's own."""
    with fresh_database(server) as name:
        yield name


@pytest.fixture
def second_database(server: Server) -> Iterator[str]:
    """Another one, to compare two ways of building a schema."""
    with fresh_database(server) as name:
        yield name


@pytest.fixture
def database_url(server: Server, database: str) -> str:
    return server.url_for(database)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    events: list[dict[str, Any]] = field(default_factory=list)

    def event(self, name: str) -> dict[str, Any]:
        found = [e for e in self.events if e.get("event") == name]
        assert found, f"no {name!r} event in:\n{self.stderr}"
        return found[-1]

    def names(self) -> list[str]:
        return [str(e.get("event")) for e in self.events]


def parse_events(stderr: str) -> list[dict[str, Any]]:
    events = []
    for line in stderr.splitlines():
        if line.strip():
            events.append(json.loads(line))  # every line must be one JSON object
    return events


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MIGRATOR_", "ALEMBIC_"))}
    env["MIGRATOR_LOG_FORMAT"] = "json"
    env.update(extra)
    return env


def start(args: list[str], url: str | None, cwd: Path = REPO, **env: str) -> subprocess.Popen[str]:
    extra = dict(env)
    if url is not None:
        extra["DATABASE_URL"] = url
    return subprocess.Popen(
        [MIGRATOR, *args], cwd=cwd, env=clean_env(**extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen[str], started: float, timeout: float = 90) -> Result:
    stdout, stderr = proc.communicate(timeout=timeout)
    return Result(proc.returncode, stdout, stderr, time.monotonic() - started, parse_events(stderr))


def assert_no_secret(output: str, url: str | None) -> None:
    """No spelling of the URL's password in any output, whatever the test did."""
    password = password_of(url)
    password = unquote(password) if password else None
    if password and len(password) >= 4:
        for form in {password, quote(password, safe=""), password.replace("\\", "\\\\")}:
            assert form not in output, "the database password leaked into the output"


def run(args: list[str], url: str | None, cwd: Path = REPO, timeout: float = 90, **env: str) -> Result:
    """The real CLI in a subprocess; every call also checks that the password never shows."""
    started = time.monotonic()
    result = finish(start(args, url, cwd, **env), started, timeout)
    assert_no_secret(result.stdout + result.stderr, url)
    return result


@pytest.fixture
def migrator() -> Callable[..., Result]:
    return run


def wait_until(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[Path]:
    """An initialised data directory to copy: own servers start in well under a second."""
    pg = EmbeddedPostgres()  # under a fresh /tmp dir: the server's user must reach it
    pg.init()
    yield pg.data_dir
    shutil.rmtree(pg.base_dir, ignore_errors=True)


@pytest.fixture
def own_server(pg_template: Path) -> Iterator[EmbeddedPostgres]:
    """A server of this test's own, not started, for stop/start/kill faults."""
    pg = EmbeddedPostgres()
    pg.init(template=pg_template)
    yield pg
    pg.destroy()


def terminate(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
