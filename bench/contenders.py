"""The command lines under test: migrator, bare alembic, psql (the floor), each a real subprocess.

migrator and alembic run in the project's directory (`cwd`), where its users run them: Alembic resolves
a relative `prepend_sys_path = .` in alembic.ini against the working directory. Both upgrade to the
project's target: `head`, or `heads` for a project of several branches (migrator reads it from MIGRATOR_TARGET).
"""

from __future__ import annotations

import compileall
from collections.abc import Mapping
from pathlib import Path

import migrator as migrator_package
from bench.config import Tools
from bench.model import Command
from bench.server import PASSWORD, ROLE

MIGRATOR_UPGRADE = "migrator upgrade"
MIGRATOR_CHECK = "migrator check"
ALEMBIC_UPGRADE = "alembic upgrade head"
PSQL_SELECT = "psql -c 'select 1'"
PSQL_FILE = "psql -1 -f (alembic --sql)"
ALEMBIC_LOOP = "until alembic upgrade head; do sleep 0.5; done"
ALONE = "1 runner alone"
WOKEN = "waiter: lock released to exit"
MIGRATOR_EXPAND = "migrator upgrade --phase expand"


def compile_migrator() -> None:
    """Byte-compile migrator's own modules before anything is timed, as it runs when deployed.

    The image compiles them (Dockerfile.migrate: ``compileall``) and pip compiles an installed package,
    as it did Alembic's and SQLAlchemy's here. The checkout is installed in editable mode, so on a machine
    with PYTHONDONTWRITEBYTECODE=1 every migrator run would otherwise compile its own modules from source.
    """
    compileall.compile_dir(str(Path(migrator_package.__file__).parent), quiet=1)


def crowd(runners: int) -> str:
    """The name of `runners` migrator upgrades started at once."""
    return f"{runners} runners at once"


def alembic_upgrade_name(target: str) -> str:
    """`alembic upgrade head` (ALEMBIC_UPGRADE), or `alembic upgrade heads` for a project of several branches."""
    return f"alembic upgrade {target}"


def migrator(
    tools: Tools,
    verb: str,
    ini: Path,
    url: str,
    env: Mapping[str, str],
    log: Path,
    name: str | None = None,
    cwd: Path | None = None,
    target: str = "head",
    args: tuple[str, ...] = (),
) -> Command:
    """`migrator -c INI upgrade|check [ARGS]` with DATABASE_URL=postgresql://… (it overrides sqlalchemy.url).

    The target goes in MIGRATOR_TARGET, as a Job or a compose service sets it, and only when it is not
    migrator's default, so the other projects run exactly the command line they always ran.
    """
    extra = {"DATABASE_URL": url, "MIGRATOR_LOG_FORMAT": "json", "MIGRATOR_WAIT_TIMEOUT": "60"}
    if target != "head":
        extra["MIGRATOR_TARGET"] = target
    argv = (tools.migrator, "-c", str(ini), verb, *args)
    return Command(name or f"migrator {verb}", argv, {**env, **extra}, log, cwd)


def alembic_upgrade(
    tools: Tools, ini: Path, env: Mapping[str, str], log: Path, cwd: Path | None = None, target: str = "head"
) -> Command:
    """Bare `alembic -c INI upgrade TARGET`: its URL is the ini's postgresql+psycopg2:// one."""
    argv = (tools.alembic, "-c", str(ini), "upgrade", target)
    return Command(alembic_upgrade_name(target), argv, env, log, cwd)


def alembic_sql(
    tools: Tools, ini: Path, env: Mapping[str, str], log: Path, cwd: Path | None = None, target: str = "head"
) -> Command:
    """`alembic upgrade TARGET --sql`: the same migrations as a SQL script, on stdout."""
    argv = (tools.alembic, "-c", str(ini), "upgrade", target, "--sql")
    return Command(f"{alembic_upgrade_name(target)} --sql", argv, env, log, cwd)


def alembic_loop(tools: Tools, ini: Path, env: Mapping[str, str], log: Path, cwd: Path | None = None) -> Command:
    """The shell loop people write around bare alembic when the database may not be up yet."""
    script = 'until "$0" -c "$1" upgrade head; do sleep 0.5; done'
    return Command(ALEMBIC_LOOP, ("sh", "-c", script, tools.alembic, str(ini)), env, log, cwd)


def psql_select(psql: str, port: int, database: str, env: Mapping[str, str], log: Path) -> Command:
    return Command(PSQL_SELECT, (*_psql(psql, port, database), "-c", "select 1"), _pg_env(env), log)


def psql_file(psql: str, port: int, database: str, sql: Path, env: Mapping[str, str], log: Path) -> Command:
    """The whole script in one transaction (-1), stopping at the first error."""
    return Command(PSQL_FILE, (*_psql(psql, port, database), "-1", "-f", str(sql)), _pg_env(env), log)


def _psql(psql: str, port: int, database: str) -> tuple[str, ...]:
    return (psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, "-d", database)


def _pg_env(env: Mapping[str, str]) -> dict[str, str]:
    return {**env, "PGPASSWORD": PASSWORD}
