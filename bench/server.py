"""The throwaway PostgreSQL servers: start with timestamped logs, a plain role, databases, readiness times."""

from __future__ import annotations

import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from devtools.embedded_pg import EmbeddedPostgres, _bin

ROLE = "bench"
PASSWORD = "bench"
# Millisecond UTC timestamps, so "ready to accept connections" can be compared with time.time().
LOG_SETTINGS = "log_line_prefix = '%m '\nlog_timezone = 'UTC'\n"
_READY = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC .*database system is ready to accept connections")


def launch(parent: Path | None = None) -> EmbeddedPostgres:
    """initdb (the data directory in a new directory under ``parent``), timestamped logs, start, and a
    superuser role with a plain password."""
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="migrator-bench-pg-", dir=parent)))
    pg.init()
    with open(pg.data_dir / "postgresql.conf", "a") as conf:
        conf.write(LOG_SETTINGS)
    pg.start()
    pg.psql(f"create role {ROLE} login superuser password '{PASSWORD}'")
    return pg


def url(pg: EmbeddedPostgres, database: str, driver: str = "postgresql") -> str:
    return f"{driver}://{ROLE}:{PASSWORD}@127.0.0.1:{pg.port}/{database}"


def psql_binary() -> str:
    return _bin("psql")


def recreate_database(pg: EmbeddedPostgres, name: str) -> None:
    """An empty database; template0 so nothing from template1 leaks in."""
    drop_database(pg, name)
    pg.psql(f'create database "{name}" owner {ROLE} template template0')


def clone_database(pg: EmbeddedPostgres, name: str, template: str) -> None:
    """A copy of `template` (which nobody may be connected to), its files copied whole: quicker than
    PostgreSQL 15+'s default of writing every block to the WAL when the template holds a million rows."""
    drop_database(pg, name)
    pg.psql(f'create database "{name}" owner {ROLE} template "{template}" strategy file_copy')


def drop_database(pg: EmbeddedPostgres, name: str) -> None:
    pg.psql(f'drop database if exists "{name}" with (force)')


def query(pg: EmbeddedPostgres, database: str, sql: str) -> list[list[str]]:
    """Rows of an unaligned psql query, split on '|'."""
    return [line.split("|") for line in pg.psql(sql, database=database).splitlines() if line]


def version(pg: EmbeddedPostgres) -> str:
    return pg.psql("show server_version").strip()


def log_size(pg: EmbeddedPostgres) -> int:
    try:
        return pg.log_file.stat().st_size
    except FileNotFoundError:
        return 0


def ready_at(pg: EmbeddedPostgres, offset: int, timeout: float = 10.0) -> float:
    """Epoch seconds of the first "ready to accept connections" logged after offset."""
    deadline = time.monotonic() + timeout
    while True:
        stamp = parse_ready(pg.log_file.read_bytes()[offset:].decode(errors="replace"))
        if stamp is not None:
            return stamp
        if time.monotonic() > deadline:
            raise TimeoutError(f"no 'ready to accept connections' in {pg.log_file} after byte {offset}")
        time.sleep(0.05)


def parse_ready(log: str) -> float | None:
    for line in log.splitlines():
        match = _READY.match(line)
        if match:
            return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
    return None
