"""Closed or full stdout and stderr never change what a command does to the database, nor its exit code."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import alembic
import pytest

from tests.conftest import MIGRATOR, clean_env, fresh_database
from tests.support.dbutil import query
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

CHAIN = [
    Revision("a1", None, upgrade='op.execute("create table a (id int)")', downgrade='op.execute("drop table a")'),
    Revision("a2", "a1", upgrade='op.execute("create table b (id int)")', downgrade='op.execute("drop table b")'),
]
# Every command of the table, with the arguments a user would give it (and what runs first, if anything).
COMMANDS: list[tuple[list[str], list[str] | None]] = [
    (["upgrade"], None),
    (["downgrade", "-1"], ["upgrade"]),
    (["stamp", "a1"], None),
    (["current"], ["upgrade"]),
    (["history"], None),
    (["heads"], None),
    (["status"], ["upgrade", "a1"]),
    (["check"], ["upgrade", "a1"]),
    (["wait"], None),
    (["verify"], None),
    (["sql", "base:head"], None),
    (["create", "--empty", "add things"], None),
    (["merge", "-m", "join"], None),
]
# How the streams are redirected: as given (the reference), stdout closed, both to a full disk.
REDIRECTS = {"normal": "", "stdout-closed": ">&-", "full": ">/dev/full 2>/dev/full"}


@pytest.fixture(scope="module")
def prepared(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[list[str]], str]]:
    """The database a ``before`` leaves, made once for the module: each redirection starts from a copy."""
    made: dict[tuple[str, ...], str] = {}
    root = tmp_path_factory.mktemp("before")
    write_project(root, CHAIN)

    def database_after(before: list[str]) -> str:
        if tuple(before) not in made:
            name = made[tuple(before)] = f"t_{uuid.uuid4().hex[:12]}"
            server.create_database(name)
            env = clean_env(DATABASE_URL=server.url_for(name))
            subprocess.run([MIGRATOR, *before], cwd=root, env=env, capture_output=True, check=True, timeout=60)
        return made[tuple(before)]

    yield database_after
    for name in made.values():
        server.drop_database(name)


@contextlib.contextmanager
def _copy_of(server: Server, template: str | None) -> Iterator[str]:
    """A database of its own: empty, or a copy of ``template`` (CREATE DATABASE ... TEMPLATE)."""
    if template is None:
        with fresh_database(server) as name:
            yield name
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = server.engine()
    with engine.connect() as conn:
        conn.exec_driver_sql(f'create database "{name}" template "{template}"')
    engine.dispose()
    try:
        yield name
    finally:
        server.drop_database(name)


def _outcome(server: Server, root: Path, args: list[str], database: str, redirect: str) -> tuple[int, object]:
    """(exit code, the version rows and revision files afterwards) for one run on a database of its own."""
    project = root / redirect.replace("/", "_").replace(" ", "") if redirect else root / "normal"
    shutil.copytree(root / "template", project)
    env = clean_env(DATABASE_URL=server.url_for(database))
    shell = f'exec "$0" "$@" {redirect}'
    proc = subprocess.run(["sh", "-c", shell, MIGRATOR, *args], cwd=project, env=env, capture_output=True, timeout=90)
    rows = query(server, database, "select to_regclass('alembic_version') is not null")
    version = query(server, database, "select version_num from alembic_version") if rows[0][0] else None
    files = sorted(p.name for p in (project / "migrations" / "versions").glob("*.py"))
    return proc.returncode, (version, len(files))


@pytest.mark.parametrize(("args", "before"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_closed_or_full_streams_change_nothing(
    server: Server,
    prepared: Callable[[list[str]], str],
    tmp_path: Path,
    args: list[str],
    before: list[str] | None,
) -> None:
    """Each command does the same to the database and exits the same, whatever its streams are."""
    write_project(tmp_path / "template", CHAIN)
    mako = Path(alembic.__file__).parent / "templates" / "generic" / "script.py.mako"
    shutil.copy(mako, tmp_path / "template" / "migrations")
    # The cost is the CLI's start-up (~0.7 s of imports a run): each `before` runs once for the module and
    # is copied, and the three redirections run at once, each on its own database and project copy.
    template = None if before is None else prepared(before)
    with contextlib.ExitStack() as stack:
        databases = {name: stack.enter_context(_copy_of(server, template)) for name in REDIRECTS}
        with ThreadPoolExecutor(len(REDIRECTS)) as pool:
            runs = {
                name: pool.submit(_outcome, server, tmp_path, args, databases[name], redirect)
                for name, redirect in REDIRECTS.items()
            }
            outcomes = {name: run.result() for name, run in runs.items()}
    assert outcomes["normal"][0] in (0, 6), outcomes
    assert outcomes == {name: outcomes["normal"] for name in REDIRECTS}
