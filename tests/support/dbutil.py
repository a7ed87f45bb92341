"""What the tests read from and do to a test database directly (not through migrator)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.support.servers import Server

REPO = Path(__file__).resolve().parents[2]


def query(server: Server, database: str, sql: str) -> list[tuple[Any, ...]]:
    engine = server.engine(database)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    engine.dispose()
    return rows


def execute(server: Server, database: str, *statements: str) -> None:
    engine = server.engine(database)
    with engine.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def tables(server: Server, database: str) -> set[str]:
    engine = server.engine(database)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    return names


def version(server: Server, database: str) -> list[str]:
    return sorted(row[0] for row in query(server, database, "select version_num from alembic_version"))


def advisory_locks(server: Server, database: str) -> int:
    sql = (
        "select count(*) from pg_locks where locktype = 'advisory' "
        "and database = (select oid from pg_database where datname = current_database())"
    )
    return int(query(server, database, sql)[0][0])


def copy_app(root: Path) -> Path:
    """The application's alembic.ini, migrations and models, to change in a test."""
    for name in ("alembic.ini", "alembic", "src"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    return root
